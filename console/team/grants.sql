-- peerdesk team store: who may do what, enforced by PostgreSQL itself.
--
-- `peerdesk team-install postgresql://...` runs this file (after building the tables from
-- peerdesk's migrations in the schema `peerdesk`, owned by the role peerdesk_owner), and runs it
-- again after every schema upgrade, so new tables get their grants. `--print-sql` prints
-- everything it would run. Read it here; change who holds which role with GRANT/REVOKE (below).
--
-- THE ROLES. peerdesk's roles are database roles that nobody logs in as; each person logs in
-- as a role of their own (their OS account name: peer authentication on the host's Unix socket
-- maps the OS account to the role of the same name) that is a member of one or more of them:
--
--     CREATE ROLE alice LOGIN IN ROLE peerdesk_moderator;
--     CREATE ROLE carol LOGIN IN ROLE peerdesk_payout_approver, peerdesk_admin;
--     GRANT peerdesk_payout_preparer TO bob;      REVOKE peerdesk_moderator FROM alice;
--
-- peerdesk_owner owns every table and function and is NOLOGIN: only a database superuser can
-- act as it. It is the only role that could UPDATE or DELETE the audit log or the ledger.
--
-- WHAT EACH ROLE MAY DO
--   every peerdesk role     read every table (peerdesk_readonly: nothing more), except the
--                           payees' payment details (reward_payees: payout roles and admin)
--   audit, ledger           nobody but the owner writes them directly: INSERT only through
--                           peerdesk_audit_append / peerdesk_ledger_append, which chain the
--                           hash on the server; no UPDATE, DELETE or TRUNCATE for anyone else.
--                           The ledger's function is for the payout roles and admins only,
--                           and checks each entry (a payout matches its line, a reversal
--                           negates exactly what it reverses, ...; see the function)
--   payout tables           written by peerdesk_payout_preparer, peerdesk_payout_approver
--                           and peerdesk_admin only (payout_*, reward_payees, reward_bans);
--                           a moderator only files an appeal (INSERT into
--                           payout_appeals and its payout_line_history line, in its own name,
--                           undecided: row-level security)
--   reward schedules        reward_schedules and their terms (reward_schedule_terms, _points:
--                           what each rule pays, the point value, the caps), which the
--                           ledger's function checks every accrual against: INSERT by
--                           peerdesk_admin only (`peerdesk ledger schedule FILE`, audited);
--                           never changed or deleted (a new schedule is a new version)
--   everything else         written by peerdesk_moderator and peerdesk_admin (threads,
--                           posts, claims, outbox, decisions...)
--   meta                    written by every writing role, except the chains' head records
--                           (audit_head, ledger_head: row-level security), which only the
--                           append functions write
--   claims                  row-level security: a moderator takes, renews and gives up claims
--                           in the name of its own login role only (holder = session_user),
--                           and takes over someone else's only once it has run out (by the
--                           server's clock); a claim lasts at most a day
--   outbox                  row-level security and a trigger: a moderator queues new items
--                           (never already sent ones), leases an item to send it (the server
--                           records the login role as lease_role), and only the lease's own
--                           role finishes it while the lease is live; an item's action,
--                           target and payload never change once queued; no DELETE
--   four-eyes               triggers on the payout tables: a batch is prepared and approved
--                           in the name of the login role only, its preparer's approval is
--                           refused, an approval is refused while the batch pays an account
--                           of the approver's (same name, any case, or linked as one person),
--                           and it becomes `approved` only with enough approvals by
--                           roles other than its preparer (two above the schedule's
--                           threshold), whatever client writes it; on verifications: a
--                           proposal is made in the login role's name, never confirmed by
--                           that role, and a contested answer is decided only by a confirm
--   payout lines            fixed once prepared (member, amount, receiver); added only by the
--                           preparer before the first approval; never deleted; their state
--                           moves only as peerdesk moves it (released only before the first
--                           approval, paid or failed only after the export)
--   bans                    a batch is neither approved nor exported while a line to be paid
--                           goes to a member banned from rewards, and a banned member's
--                           payout money is never returned to their balance
--   migrate-to              peerdesk_admin appends a copied chain through
--                           peerdesk_audit_import / peerdesk_ledger_import, which check every
--                           entry's hash and chaining, and only while the database has never
--                           had a live entry (peerdesk_import_close ends that for good)

DO $$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY['peerdesk_owner', 'peerdesk_readonly', 'peerdesk_moderator',
                              'peerdesk_payout_preparer', 'peerdesk_payout_approver',
                              'peerdesk_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', name);
    END IF;
  END LOOP;
END $$;

REVOKE ALL ON SCHEMA peerdesk FROM PUBLIC;
GRANT USAGE ON SCHEMA peerdesk TO peerdesk_readonly, peerdesk_moderator,
  peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;

-- Start from nothing: no role has any privilege on any table or sequence but the owner.
REVOKE ALL ON ALL TABLES IN SCHEMA peerdesk FROM PUBLIC, peerdesk_readonly,
  peerdesk_moderator, peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA peerdesk FROM PUBLIC, peerdesk_readonly,
  peerdesk_moderator, peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;

-- Reading.
GRANT SELECT ON ALL TABLES IN SCHEMA peerdesk TO peerdesk_readonly, peerdesk_moderator,
  peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
REVOKE SELECT ON peerdesk.reward_payees FROM peerdesk_readonly, peerdesk_moderator;

-- Writing: payout tables for the payout roles, the rest for moderators; audit and ledger for
-- nobody (their functions below); peerdesk_team (the schema version) for nobody;
-- copy_progress (migrate-to's checkpoints) for admins.
DO $$
DECLARE
  payout text[] := ARRAY['payout_batches', 'payout_lines', 'payout_flags',
                         'payout_line_history', 'payout_approvals', 'payout_appeals',
                         'reward_payees', 'reward_bans'];
  append_only text[] := ARRAY['audit', 'ledger'];
  -- a schedule and its terms: loaded by an admin (audited: `ledger schedule`), never changed
  schedules text[] := ARRAY['reward_schedules', 'reward_schedule_terms',
                            'reward_schedule_points'];
  owner_only text[] := ARRAY['peerdesk_team'];
  admin_only text[] := ARRAY['copy_progress'];
  t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'peerdesk' LOOP
    IF t = ANY (admin_only) THEN
      EXECUTE format('GRANT INSERT, UPDATE, DELETE ON peerdesk.%I TO peerdesk_admin', t);
    ELSIF t = ANY (schedules) THEN
      EXECUTE format('GRANT INSERT ON peerdesk.%I TO peerdesk_admin', t);
    ELSIF t = ANY (payout) THEN
      EXECUTE format('GRANT INSERT, UPDATE, DELETE ON peerdesk.%I TO peerdesk_payout_preparer, '
                     'peerdesk_payout_approver, peerdesk_admin', t);
    ELSIF NOT (t = ANY (append_only) OR t = ANY (owner_only)) THEN
      EXECUTE format('GRANT INSERT, UPDATE, DELETE ON peerdesk.%I TO peerdesk_moderator, '
                     'peerdesk_admin', t);
    END IF;
  END LOOP;
END $$;
GRANT INSERT, UPDATE, DELETE ON peerdesk.meta TO peerdesk_payout_preparer,
  peerdesk_payout_approver;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA peerdesk TO peerdesk_moderator,
  peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
-- migrate-to keeps the cache's ids and moves each identity sequence past them (setval)
GRANT UPDATE ON ALL SEQUENCES IN SCHEMA peerdesk TO peerdesk_admin;

-- The chains' head records in meta: read by all, written only by the append functions (which
-- run as the owner, and the owner is not subject to row-level security). The escalation rules
-- in force (escalation_rules, escalation_rules_origin: `peerdesk escalations --load`, audited)
-- are written only by the roles of the `escalation_rules` action in console/escalate/actions.py
-- (moderators and admins), not by the payout roles, which may write the rest of meta.
ALTER TABLE peerdesk.meta ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS meta_read ON peerdesk.meta;
DROP POLICY IF EXISTS meta_write ON peerdesk.meta;
CREATE POLICY meta_read ON peerdesk.meta FOR SELECT USING (true);
CREATE POLICY meta_write ON peerdesk.meta FOR ALL
  USING (key NOT IN ('audit_head', 'ledger_head')
         AND (key NOT IN ('escalation_rules', 'escalation_rules_origin')
              OR pg_has_role(session_user, 'peerdesk_moderator', 'MEMBER')
              OR pg_has_role(session_user, 'peerdesk_admin', 'MEMBER')))
  WITH CHECK (key NOT IN ('audit_head', 'ledger_head')
              AND (key NOT IN ('escalation_rules', 'escalation_rules_origin')
                   OR pg_has_role(session_user, 'peerdesk_moderator', 'MEMBER')
                   OR pg_has_role(session_user, 'peerdesk_admin', 'MEMBER')));

-- The append functions run as peerdesk_owner (SECURITY DEFINER) with a fixed search_path.
SET ROLE peerdesk_owner;

-- The server's clock as peerdesk writes times (ISO-8601 UTC text), `ahead` from now: claims
-- and leases run out by it, whatever the clients' clocks say.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_time(ahead interval DEFAULT '0 seconds')
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT to_char((now() + ahead) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- migrate-to's copy: an admin, while the database has never had a live audit or ledger entry.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_importing() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
  SELECT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER')
     AND (SELECT import_open FROM peerdesk_team)
$$;

-- Outbox items: what may change, and how an item moves from state to state (everyone but the
-- owner, and an admin's migrate-to copy). Who may touch which item is row-level security (below).
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_outbox_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  moves boolean;
BEGIN
  IF peerdesk_importing() THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' THEN
    NEW.lease_role := NULL;
    RETURN NEW;
  END IF;
  IF (NEW.id, NEW.source_id, NEW.action, NEW.target_kind, NEW.target_id, NEW.payload,
      NEW.idempotency_key, NEW.created_at, NEW.batch_id, NEW.audit_id)
     IS DISTINCT FROM (OLD.id, OLD.source_id, OLD.action, OLD.target_kind, OLD.target_id,
      OLD.payload, OLD.idempotency_key, OLD.created_at, OLD.batch_id, OLD.audit_id) THEN
    RAISE EXCEPTION 'outbox item %: what it sends is fixed when it is queued', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  moves := CASE OLD.state
    WHEN 'pending' THEN NEW.state IN ('sending', 'cancelled')
    WHEN 'sending' THEN NEW.state IN ('sending', 'applied', 'conflict', 'rejected', 'pending')
    WHEN 'conflict' THEN NEW.state IN ('pending', 'cancelled')
    WHEN 'rejected' THEN NEW.state IN ('pending', 'cancelled')
    ELSE false END;
  IF NOT moves THEN
    RAISE EXCEPTION 'outbox item % cannot go from % to %', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.base IS DISTINCT FROM OLD.base AND NOT (NEW.base IS NULL AND NEW.state = 'pending') THEN
    RAISE EXCEPTION 'outbox item %: its base is fixed (a retry may only drop it)', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- where the platform stood before the first send (a retry looks for what it wrote after it)
  IF OLD.sent_mark IS NOT NULL AND NEW.sent_mark IS DISTINCT FROM OLD.sent_mark THEN
    RAISE EXCEPTION 'outbox item %: its send mark is fixed once recorded', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.state = 'sending' AND OLD.lease_role IS DISTINCT FROM session_user
     AND NEW.state <> 'sending' THEN
    RAISE EXCEPTION 'outbox item % is leased to %: only that role records its result',
      OLD.id, OLD.lease_role USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.state = 'sending' THEN
    IF NEW.attempts <= OLD.attempts THEN
      RAISE EXCEPTION 'outbox item %: each lease is one more attempt', OLD.id
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.lease_role := session_user;
  ELSE
    NEW.lease_role := OLD.lease_role;  -- who sent it last, kept with the result
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS outbox_guard ON peerdesk.outbox;
CREATE TRIGGER outbox_guard BEFORE INSERT OR UPDATE ON peerdesk.outbox
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_outbox_guard();

-- Four-eyes on payout batches, whatever client writes them: prepared and approved in the name
-- of the login role only; never approved by its preparer; `approved` only with enough
-- approvals by other roles (two when the payable lines add up to more than the batch's
-- second_approver_over_minor, as console/rewards/payouts.py counts them). A batch's currency
-- and second-approver threshold are its schedule's terms, so a preparer cannot raise the
-- threshold to need one approval only.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_batch_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  needed int;
  got int;
  banned record;
BEGIN
  IF peerdesk_importing() THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW.prepared_by IS DISTINCT FROM session_user::text THEN
      RAISE EXCEPTION 'a payout batch is prepared in the name of the login role (%), not %',
        session_user, NEW.prepared_by USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.state <> 'prepared' THEN
      RAISE EXCEPTION 'a new payout batch starts as prepared, not %', NEW.state
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM reward_schedule_terms t
        WHERE t.version = NEW.schedule_version AND t.currency = NEW.currency
          AND t.second_approver_over_minor = NEW.second_approver_over_minor) THEN
      RAISE EXCEPTION 'payout batch for %: its currency and second-approver threshold must be '
        'the terms of schedule % on the server', NEW.period, NEW.schedule_version
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF (NEW.id, NEW.prepared_by, NEW.prepared_os_user, NEW.second_approver_over_minor,
      NEW.currency, NEW.period) IS DISTINCT FROM (OLD.id, OLD.prepared_by,
      OLD.prepared_os_user, OLD.second_approver_over_minor, OLD.currency, OLD.period) THEN
    RAISE EXCEPTION 'payout batch %: its preparer, period and thresholds are fixed', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
      (OLD.state = 'prepared' AND NEW.state = 'approved')
      OR (OLD.state = 'approved' AND NEW.state = 'exported')
      OR (OLD.state = 'exported' AND NEW.state = 'closed')) THEN
    RAISE EXCEPTION 'payout batch % cannot go from % to %', OLD.id, OLD.state, NEW.state
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.state = 'prepared' AND NEW.state = 'approved' THEN
    SELECT CASE WHEN coalesce(sum(l.amount_minor), 0) > NEW.second_approver_over_minor
                THEN 2 ELSE 1 END INTO needed
      FROM payout_lines l WHERE l.batch_id = NEW.id AND l.state NOT IN ('held', 'returned');
    SELECT count(*) INTO got FROM payout_approvals a
      WHERE a.batch_id = NEW.id AND a.approver <> NEW.prepared_by;
    IF got < needed THEN
      RAISE EXCEPTION 'four-eyes: payout batch % has % approval(s) by roles other than its '
        'preparer %, it needs %', NEW.id, got, NEW.prepared_by, needed
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  -- a ban only takes money out: no batch is approved or exported while a line to be paid
  -- goes to a member banned from rewards (peerdesk holds such lines first)
  IF (OLD.state, NEW.state) IN (('prepared', 'approved'), ('approved', 'exported')) THEN
    SELECT l.id, coalesce(m.username, '#' || l.member_id) AS username INTO banned
      FROM payout_lines l JOIN reward_bans b ON b.member_id = l.member_id
      LEFT JOIN members m ON m.id = l.member_id
      WHERE l.batch_id = NEW.id AND l.state = 'ready' ORDER BY l.id LIMIT 1;
    IF banned.id IS NOT NULL THEN
      RAISE EXCEPTION 'payout batch % pays % (line %), who is banned from rewards: the line is '
        'held before the batch is %', NEW.id, banned.username, banned.id, NEW.state
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS batch_guard ON peerdesk.payout_batches;
CREATE TRIGGER batch_guard BEFORE INSERT OR UPDATE ON peerdesk.payout_batches
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_batch_guard();

-- What four-eyes approved is what is paid: a payout line's member, points, amount and receiver
-- are fixed when it is prepared (only its batch's preparer adds lines, ready, before the first
-- approval); nobody deletes one; and its state moves only as console/rewards/payouts.py moves it:
-- held (by a hold, a ban, a flag) while its batch is not yet exported; released only before the
-- first approval; returned at approval; paid or failed from the provider's result, after the
-- export.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_line_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  batch record;
  moves boolean;
BEGIN
  IF peerdesk_importing() THEN
    RETURN coalesce(NEW, OLD);
  END IF;
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'payout line % is never deleted', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT b.state, b.prepared_by,
         EXISTS (SELECT 1 FROM payout_approvals a WHERE a.batch_id = b.id) AS approved_once
    INTO batch FROM payout_batches b WHERE b.id = NEW.batch_id;
  IF TG_OP = 'INSERT' THEN
    IF batch.state IS DISTINCT FROM 'prepared' OR batch.approved_once
       OR batch.prepared_by IS DISTINCT FROM session_user::text OR NEW.state <> 'ready' THEN
      RAISE EXCEPTION 'a payout line is added (ready) only by its batch''s preparer, before the '
        'first approval' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF (NEW.id, NEW.batch_id, NEW.member_id, NEW.points, NEW.amount_minor, NEW.recipient_type,
      NEW.receiver) IS DISTINCT FROM (OLD.id, OLD.batch_id, OLD.member_id, OLD.points,
      OLD.amount_minor, OLD.recipient_type, OLD.receiver) THEN
    RAISE EXCEPTION 'payout line %: whom it pays, how much and where are fixed when it is '
      'prepared', OLD.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.state IS DISTINCT FROM OLD.state THEN
    moves := CASE
      WHEN OLD.state = 'ready' AND NEW.state = 'held' THEN batch.state IN ('prepared', 'approved')
      WHEN OLD.state = 'held' AND NEW.state = 'ready' THEN
        batch.state = 'prepared' AND NOT batch.approved_once
      WHEN OLD.state = 'held' AND NEW.state = 'returned' THEN batch.state = 'prepared'
      WHEN OLD.state = 'ready' AND NEW.state IN ('paid', 'failed') THEN
        batch.state IN ('exported', 'closed')
      ELSE false END;
    IF NOT moves THEN
      RAISE EXCEPTION 'payout line % cannot go from % to % while its batch is %', OLD.id,
        OLD.state, NEW.state, CASE WHEN batch.approved_once AND batch.state = 'prepared'
        THEN 'approved once' ELSE batch.state END USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS line_guard ON peerdesk.payout_lines;
CREATE TRIGGER line_guard BEFORE INSERT OR UPDATE OR DELETE ON peerdesk.payout_lines
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_line_guard();

-- The community accounts a person answers to, as console/rewards/payouts.py's _accounts_of
-- finds them: every member whose username is one of `names` (any case), and every account
-- joined to one of those through others (console/member_links.py): a moderator's link, the
-- same platform identity (member signals se_account_id, sso_email_sha256), the same username;
-- never across a pair a moderator said are not one person. (The domain stops at 50 accounts
-- a member; the server follows every link, so it refuses at least what the domain refuses.)
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_accounts_of(names text[])
RETURNS TABLE (member_id bigint) LANGUAGE sql STABLE SET search_path = peerdesk, pg_temp AS $$
  WITH RECURSIVE reach (root, id) AS (
    SELECT m.id, m.id FROM members m
      WHERE lower(m.username) IN (SELECT lower(n) FROM unnest(names) n WHERE n IS NOT NULL)
    UNION
    SELECT r.root, n.other FROM reach r CROSS JOIN LATERAL (
      SELECT CASE WHEN k.member_id = r.id THEN k.other_id ELSE k.member_id END AS other
        FROM member_links k WHERE (k.member_id = r.id OR k.other_id = r.id) AND k.linked = 1
      UNION ALL
      SELECT o.member_id FROM member_signals s JOIN member_signals o
        ON o.kind = s.kind AND o.value = s.value AND o.member_id <> s.member_id
        WHERE s.member_id = r.id AND s.kind IN ('se_account_id', 'sso_email_sha256')
      UNION ALL
      SELECT o.id FROM members me JOIN members o
        ON lower(o.username) = lower(me.username) AND o.id <> me.id
        WHERE me.id = r.id) n
    WHERE NOT EXISTS (SELECT 1 FROM member_links x WHERE x.linked = 0
      AND ((x.member_id = n.other AND x.other_id IN (r.id, r.root))
           OR (x.other_id = n.other AND x.member_id IN (r.id, r.root))))
  )
  SELECT DISTINCT r.id FROM reach r
$$;

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_approval_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  batch record;
  own record;
BEGIN
  IF peerdesk_importing() THEN
    RETURN coalesce(NEW, OLD);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'a payout approval is never changed or taken back'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.approver IS DISTINCT FROM session_user::text THEN
    RAISE EXCEPTION 'a payout batch is approved in the name of the login role (%), not %',
      session_user, NEW.approver USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT (pg_has_role(session_user, 'peerdesk_payout_approver', 'MEMBER')
          OR pg_has_role(session_user, 'peerdesk_admin', 'MEMBER')) THEN
    RAISE EXCEPTION '% is not a payout approver', session_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT b.prepared_by, b.state INTO batch FROM payout_batches b WHERE b.id = NEW.batch_id
    FOR SHARE;
  IF batch.prepared_by = session_user::text THEN
    RAISE EXCEPTION 'four-eyes: % prepared payout batch % and cannot approve it',
      session_user, NEW.batch_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF batch.state IS DISTINCT FROM 'prepared' THEN
    RAISE EXCEPTION 'payout batch % is %, not waiting for approval', NEW.batch_id,
      coalesce(batch.state, 'missing') USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- never one's own money: no line to be paid may go to an account of the approver's (the
  -- login role's name or the OS account the client names, any case, and every account linked
  -- to one as one person: peerdesk_accounts_of), as console/rewards/payouts.py refuses it
  SELECT l.id, coalesce(m.username, '#' || l.member_id) AS username INTO own
    FROM payout_lines l LEFT JOIN members m ON m.id = l.member_id
    WHERE l.batch_id = NEW.batch_id AND l.state NOT IN ('held', 'returned')
      AND l.member_id IN (SELECT a.member_id
                          FROM peerdesk_accounts_of(ARRAY[session_user::text,
                                                          NEW.approver_os_user]) a)
    ORDER BY l.id LIMIT 1;
  IF own.id IS NOT NULL THEN
    RAISE EXCEPTION 'four-eyes: % cannot approve payout batch %: it pays % (line %), an '
      'account that is theirs (same name or linked as one person); another approver must',
      session_user, NEW.batch_id, own.username, own.id USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS approval_guard ON peerdesk.payout_approvals;
CREATE TRIGGER approval_guard BEFORE INSERT OR UPDATE OR DELETE ON peerdesk.payout_approvals
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_approval_guard();

-- Four-eyes on answer verification (console/verify/actions.py), whatever client writes it:
-- a proposal is made in the name of the login role (proposed_by and proposed_os_user are the
-- role), or is one an undo puts back as the audit entry that made it recorded it; a confirm
-- (the row moving to its proposed state) is refused to the role that proposed it, and to anyone
-- when the proposal's account is unknown (made before migration 40 and not found in the audit),
-- and is written as peerdesk writes it: the proposed state, decided by its proposer, the login
-- role as second. A contested answer (the asker's accepted answer rejected, an answer that earns
-- a payout verified) reaches that state only so, also when its row is written anew (INSERT).
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_verification_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  me text := session_user;
  -- the row before: a new one is taken as pending, unproposed, unpaid
  old_state text := 'pending';
  old_payout bigint := 0;
  old_proposal text[];
BEGIN
  IF TG_OP = 'INSERT' AND NEW.state = 'pending' AND NEW.proposed_state IS NULL THEN
    RETURN NEW;  -- a new answer scored (every refresh): nothing to check, nothing looked up
  END IF;
  -- migrate-to's copy, and the server's superuser (who could drop this trigger: a repair)
  IF peerdesk_importing() OR (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = me) THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    old_state := OLD.state;
    old_payout := OLD.payout_minor;
    IF OLD.proposed_state IS NOT NULL THEN
      old_proposal := ARRAY[OLD.proposed_state, OLD.proposed_action, OLD.proposed_by,
                            OLD.proposed_os_user, OLD.proposed_at];
    END IF;
  END IF;
  IF NEW.proposed_state IS NOT NULL
     AND ARRAY[NEW.proposed_state, NEW.proposed_action, NEW.proposed_by, NEW.proposed_os_user,
               NEW.proposed_at] IS DISTINCT FROM old_proposal
     AND (NEW.proposed_by, NEW.proposed_os_user) IS DISTINCT FROM (me, me)
     AND NOT EXISTS (SELECT 1 FROM audit a
       WHERE a.target_kind = 'post' AND a.target_id = NEW.post_id
         AND a.action IN ('verify_answer', 'verify_pick', 'verify_reject')
         AND a.actor = NEW.proposed_by
         AND (NEW.proposed_os_user IS NULL
              OR coalesce(a.detail::jsonb ->> 'os_user', a.actor) = NEW.proposed_os_user)
         AND a.detail::jsonb #>> '{after,proposed_state}' = NEW.proposed_state
         AND a.detail::jsonb #>> '{after,proposed_at}' = NEW.proposed_at) THEN
    RAISE EXCEPTION 'four-eyes: a proposal on answer % is made in the name of the login role '
      '(%), not % (account %)', NEW.post_id, me, NEW.proposed_by,
      coalesce(NEW.proposed_os_user, 'none') USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.state IS NOT DISTINCT FROM old_state OR NEW.state NOT IN ('verified', 'rejected') THEN
    RETURN NEW;
  END IF;
  IF old_proposal IS NOT NULL THEN
    IF me IN (OLD.proposed_by, OLD.proposed_os_user) THEN
      RAISE EXCEPTION 'four-eyes: % proposed % for answer % and cannot confirm it; a second '
        'moderator (another login role) must', me, OLD.proposed_state, NEW.post_id
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.proposed_os_user IS NULL THEN
      RAISE EXCEPTION 'four-eyes: %''s proposal on answer % has no account recorded, so nobody '
        'can tell who made it: it is not confirmed (disagree, then propose it again)',
        OLD.proposed_by, NEW.post_id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.state, NEW.decided_by, NEW.second_by) IS DISTINCT FROM
       (OLD.proposed_state, OLD.proposed_by, me) OR NEW.proposed_state IS NOT NULL THEN
      RAISE EXCEPTION 'four-eyes: answer %''s proposal is confirmed in the name of the login role '
        '(%): % as proposed, decided by its proposer %, second %; not % by % with % second',
        NEW.post_id, me, OLD.proposed_state, OLD.proposed_by, me, NEW.state,
        coalesce(NEW.decided_by, 'nobody'), coalesce(NEW.second_by, 'no')
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.state = 'verified' AND greatest(old_payout, NEW.payout_minor) > 0 THEN
    RAISE EXCEPTION 'four-eyes: answer % earns a payout, so it is verified only on a proposal a '
      'second moderator confirms', NEW.post_id USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.state = 'rejected' AND EXISTS (SELECT 1 FROM threads t
       WHERE t.id = NEW.thread_id AND t.accepted_post_id = NEW.post_id) THEN
    RAISE EXCEPTION 'four-eyes: answer % is the asker''s accepted answer, so it is rejected only '
      'on a proposal a second moderator confirms', NEW.post_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS verification_guard ON peerdesk.verifications;
CREATE TRIGGER verification_guard BEFORE INSERT OR UPDATE OF state, proposed_state,
  proposed_action, proposed_by, proposed_os_user, proposed_at, decided_by, second_by
  ON peerdesk.verifications FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_verification_guard();

-- A schedule's terms (what each rule pays, the point value, the caps: migration 23) are
-- written before its first ledger entry and never after (nobody has UPDATE or DELETE on them):
-- an admin loads a new version instead. `team-install` (as the owner) fills in the terms of
-- schedules loaded before the server kept them, and migrate-to copies them.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_schedule_terms_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
BEGIN
  IF peerdesk_importing() OR current_user = 'peerdesk_owner' THEN
    RETURN NEW;
  END IF;
  IF EXISTS (SELECT 1 FROM ledger l WHERE l.schedule_version = NEW.version) THEN
    RAISE EXCEPTION 'schedule % is in use by ledger entries: its terms never change (load '
      'a new version)', NEW.version USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS schedule_terms_guard ON peerdesk.reward_schedule_terms;
CREATE TRIGGER schedule_terms_guard BEFORE INSERT ON peerdesk.reward_schedule_terms
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_schedule_terms_guard();
DROP TRIGGER IF EXISTS schedule_points_guard ON peerdesk.reward_schedule_points;
CREATE TRIGGER schedule_points_guard BEFORE INSERT ON peerdesk.reward_schedule_points
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_schedule_terms_guard();

-- The audit entry's hash, exactly as console/audit.py computes it: SHA-256 (hex) of the
-- previous hash followed by the entry's fields as compact JSON with sorted keys.
-- The two digest functions are plain STABLE SQL with no SET clause and pg_catalog named on every
-- call, so PostgreSQL inlines them into the query that calls them: migrate-to's set-based check
-- of a million entries runs about 3.5 times faster than through a function call per entry.
-- (to_json is STABLE; the functions they are called from fix their own search_path.)
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_audit_digest(
  prev_hash text, id bigint, ts text, actor text, action text, target_kind text,
  target_id bigint, batch_id bigint, detail text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(prev_hash
    || '{"action":' || pg_catalog.to_json(action)::text
    || ',"actor":' || pg_catalog.to_json(actor)::text
    || ',"batch_id":' || coalesce(batch_id::text, 'null')
    || ',"detail":' || pg_catalog.to_json(detail)::text
    || ',"id":' || id::text
    || ',"target_id":' || coalesce(target_id::text, 'null')
    || ',"target_kind":' || pg_catalog.to_json(target_kind)::text
    || ',"ts":' || pg_catalog.to_json(ts)::text || '}', 'UTF8')), 'hex')
$$;

-- A live entry: the actor is the database role that is connected (session_user), the time is
-- the server's; the hash chains onto the newest entry under a lock, so appends never fork.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_audit_append(
  action text, target_kind text, target_id bigint, batch_id bigint, detail text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
DECLARE
  head record;
  new_id bigint;
  prev text;
  at text := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
  digest text;
BEGIN
  LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE;
  SELECT a.id, a.hash INTO head FROM audit a ORDER BY a.id DESC LIMIT 1;
  new_id := coalesce(head.id, 0) + 1;
  prev := coalesce(head.hash, repeat('0', 64));
  digest := peerdesk_audit_digest(prev, new_id, at, session_user, action, target_kind,
                                  target_id, batch_id, detail);
  INSERT INTO audit (id, ts, actor, action, target_kind, target_id, batch_id, detail,
                     prev_hash, hash)
  VALUES (new_id, at, session_user, action, target_kind, target_id, batch_id, detail, prev,
          digest);
  INSERT INTO meta (key, value) VALUES ('audit_head', new_id || ':' || digest)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
  UPDATE peerdesk_team SET import_open = false WHERE import_open;
  RETURN new_id;
END $$;

-- migrate-to: an entry copied from a SQLite cache, accepted only if it continues the chain
-- (its id follows the newest, its prev_hash is the newest hash, its hash is right), only for
-- peerdesk_admin, and only while no live entry was ever written here.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_audit_import(
  id bigint, ts text, actor text, action text, target_kind text, target_id bigint,
  batch_id bigint, detail text, prev_hash text, hash text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
DECLARE
  head record;
BEGIN
  IF NOT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only peerdesk_admin may import audit entries';
  END IF;
  IF NOT (SELECT import_open FROM peerdesk_team) THEN
    RAISE EXCEPTION 'this team database no longer takes imported audit entries';
  END IF;
  LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE;
  SELECT a.id, a.hash INTO head FROM audit a ORDER BY a.id DESC LIMIT 1;
  IF id <> coalesce(head.id, 0) + 1 OR prev_hash <> coalesce(head.hash, repeat('0', 64)) THEN
    RAISE EXCEPTION 'audit entry % does not continue the chain (newest is %)', id,
      coalesce(head.id, 0);
  END IF;
  IF hash <> peerdesk_audit_digest(prev_hash, id, ts, actor, action, target_kind, target_id,
                                   batch_id, detail) THEN
    RAISE EXCEPTION 'audit entry %: its hash does not match its fields', id;
  END IF;
  INSERT INTO audit VALUES (id, ts, actor, action, target_kind, target_id, batch_id, detail,
                            prev_hash, hash);
  INSERT INTO meta (key, value) VALUES ('audit_head', id || ':' || hash)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
END $$;

-- The ledger entry's hash, exactly as console/rewards/ledger.py computes it: SHA-256 (hex) of
-- the previous hash followed by the entry's fields as a compact JSON array, in column order.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_ledger_digest(prev_hash text, e peerdesk.ledger)
RETURNS text LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(prev_hash || '[' ||
    pg_catalog.concat_ws(',',
    e.id::text, e.member_id::text, pg_catalog.to_json(e.kind)::text,
    pg_catalog.to_json(e.rule)::text, pg_catalog.to_json(e.event_key)::text,
    coalesce(e.thread_id::text, 'null'), e.points::text, e.amount_minor::text,
    pg_catalog.to_json(e.currency)::text, pg_catalog.to_json(e.schedule_version)::text,
    pg_catalog.to_json(e.occurred_at)::text, pg_catalog.to_json(e.recorded_at)::text,
    coalesce(e.reverses::text, 'null'), coalesce(e.line_id::text, 'null'),
    pg_catalog.to_json(e.detail)::text) || ']', 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_ledger_chain(e peerdesk.ledger, imported boolean)
RETURNS bigint LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  head record;
BEGIN
  LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE;
  SELECT l.id, l.hash INTO head FROM ledger l ORDER BY l.id DESC LIMIT 1;
  IF imported THEN
    IF e.id <> coalesce(head.id, 0) + 1 OR e.prev_hash <> coalesce(head.hash, repeat('0', 64))
    THEN
      RAISE EXCEPTION 'ledger entry % does not continue the chain', e.id;
    END IF;
    IF e.hash <> peerdesk_ledger_digest(e.prev_hash, e) THEN
      RAISE EXCEPTION 'ledger entry %: its hash does not match its fields', e.id;
    END IF;
  ELSE
    e.id := coalesce(head.id, 0) + 1;
    e.prev_hash := coalesce(head.hash, repeat('0', 64));
    e.recorded_at := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
    e.hash := peerdesk_ledger_digest(e.prev_hash, e);
  END IF;
  INSERT INTO ledger SELECT (e).*;
  INSERT INTO meta (key, value) VALUES ('ledger_head', e.id || ':' || e.hash)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value;
  RETURN e.id;
END $$;

-- A live ledger entry (accruals, reversals, payouts): the server numbers, stamps and chains it,
-- and refuses what the caller may not write or what does not fit the ledger, whatever client
-- calls it (console/rewards/ledger_server.py is peerdesk's caller):
--   * only the payout roles and admins append (accruals and reversals are the ledger_accrue
--     and reward_ban actions; moderators have no EXECUTE on it and are refused here too);
--   * an accrual adds (never takes) points and money and reverses nothing, and pays exactly
--     what its schedule version pays for its rule (reward_schedule_points) at that version's
--     point value and currency, less what the version's caps leave the member that UTC day
--     and in that thread (the same arithmetic as console/rewards/accrue.py's _Caps); a
--     version whose terms are not on the server pays nothing; and only for an event that is
--     true now (the view reward_events: an accepted answer still accepted, a vote standing,
--     an answer verified...) of the rule's kind, of that member, in that thread, at that time,
--     named by its own key (so one event is never paid twice under two spellings);
--   * a reversal takes back exactly one accrual of the same member, under its rule and
--     event, so once (or, rule member_banned, exactly the whole balance of a banned member);
--   * a payout entry is the exact negative of a payout line of a batch the caller prepared
--     and that is still `prepared`, by a preparer or admin; a payout_return gives back exactly
--     the payout entry of its line, once, and never to a member banned from rewards;
--   * money is whole minor units (bigint) and the entry's schedule version must be loaded.
-- An entry whose (kind, rule, event_key) is already in the ledger is not written again: the
-- function returns NULL (checked under the ledger's lock, so concurrent accruals never pay twice).
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_ledger_append(
  member_id bigint, kind text, rule text, event_key text, thread_id bigint, points bigint,
  amount_minor bigint, currency text, schedule_version text, occurred_at text,
  reverses bigint, line_id bigint, detail text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
#variable_conflict use_variable
DECLARE
  me text := session_user;
  target record;
  line record;
  balance record;
  terms record;
  earned bigint;
  room bigint;
  due bigint;
  event_id bigint;
  true_now boolean;
BEGIN
  IF NOT (pg_has_role(me, 'peerdesk_payout_preparer', 'MEMBER')
          OR pg_has_role(me, 'peerdesk_payout_approver', 'MEMBER')
          OR pg_has_role(me, 'peerdesk_admin', 'MEMBER')) THEN
    RAISE EXCEPTION '% may not write the rewards ledger (payout roles and admins only)', me
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  LOCK TABLE ledger IN SHARE ROW EXCLUSIVE MODE;
  IF EXISTS (SELECT 1 FROM ledger l WHERE l.kind = peerdesk_ledger_append.kind
             AND l.rule = peerdesk_ledger_append.rule
             AND l.event_key = peerdesk_ledger_append.event_key) THEN
    RETURN NULL;  -- this (kind, rule, event) is in the ledger already: never twice
  END IF;
  IF points IS NULL OR amount_minor IS NULL THEN
    RAISE EXCEPTION 'a ledger entry has points and an amount' USING ERRCODE = 'check_violation';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM reward_schedules s
                 WHERE s.version = peerdesk_ledger_append.schedule_version) THEN
    RAISE EXCEPTION 'ledger entry names schedule %, which is not loaded', schedule_version
      USING ERRCODE = 'check_violation';
  END IF;
  IF kind = 'accrual' THEN
    IF points < 0 OR amount_minor < 0 OR reverses IS NOT NULL OR line_id IS NOT NULL THEN
      RAISE EXCEPTION 'an accrual adds points and money and reverses nothing'
        USING ERRCODE = 'check_violation';
    END IF;
    SELECT t.currency, t.point_value_minor, t.cap_per_day, t.cap_per_thread, p.points
      INTO terms FROM reward_schedule_terms t
      JOIN reward_schedule_points p ON p.version = t.version
      WHERE t.version = schedule_version AND p.rule = peerdesk_ledger_append.rule;
    IF terms.points IS NULL OR terms.points = 0 THEN
      RAISE EXCEPTION 'schedule % pays nothing for % on the team database (an admin loads '
        'its terms with `peerdesk ledger schedule FILE`)', schedule_version, rule
        USING ERRCODE = 'check_violation';
    END IF;
    -- the event it pays for: true now (reward_events, migration 28: an accepted answer that
    -- is still accepted, a vote that stands...), of the rule's kind, this member's, in this
    -- thread, at this time (the caps count by them), and named by its own key: `post:01` for
    -- a paid `post:1` would pay it twice, as the check for a repeat above compares keys
    -- (found by rule and id alone, each branch of the view by a primary key, and the rest
    -- compared after: one plan for every call, whatever the member or thread)
    event_id := substring(event_key FROM '^[a-z_]+:([1-9][0-9]{0,17})$')::bigint;
    SELECT bool_or(e.event_key = peerdesk_ledger_append.event_key
                   AND e.member_id = peerdesk_ledger_append.member_id
                   AND e.thread_id IS NOT DISTINCT FROM peerdesk_ledger_append.thread_id
                   AND e.occurred_at = peerdesk_ledger_append.occurred_at)
      INTO true_now FROM reward_events e
      WHERE e.rule = peerdesk_ledger_append.rule AND e.event_id = event_id;
    IF true_now IS NOT TRUE THEN
      RAISE EXCEPTION 'there is no % event % of member % (thread %, at %) to pay: it must '
        'be true on the team database now', rule, event_key, member_id, thread_id, occurred_at
        USING ERRCODE = 'check_violation';
    END IF;
    -- the caps: what the member's accruals already hold that UTC day and in that thread
    SELECT coalesce(sum(l.points), 0) INTO earned FROM ledger l
      WHERE l.member_id = peerdesk_ledger_append.member_id AND l.kind = 'accrual'
        AND substr(l.occurred_at, 1, 10) = substr(peerdesk_ledger_append.occurred_at, 1, 10);
    room := terms.cap_per_day - earned;
    IF thread_id IS NOT NULL THEN
      SELECT coalesce(sum(l.points), 0) INTO earned FROM ledger l
        WHERE l.member_id = peerdesk_ledger_append.member_id AND l.kind = 'accrual'
          AND l.thread_id = peerdesk_ledger_append.thread_id;
      room := least(room, terms.cap_per_thread - earned);
    END IF;
    due := greatest(0, least(terms.points, room));
    IF (points, amount_minor, currency) IS DISTINCT FROM
       (due, due * terms.point_value_minor, terms.currency) THEN
      RAISE EXCEPTION 'schedule % pays % points (% % minor units) for this % now, not % (% %)',
        schedule_version, due, due * terms.point_value_minor, terms.currency, rule, points,
        amount_minor, currency USING ERRCODE = 'check_violation';
    END IF;
  ELSIF kind = 'reversal' THEN
    IF line_id IS NOT NULL THEN
      RAISE EXCEPTION 'a reversal names no payout line' USING ERRCODE = 'check_violation';
    END IF;
    IF reverses IS NULL THEN
      IF rule <> 'member_banned' OR NOT EXISTS (
          SELECT 1 FROM reward_bans b WHERE b.member_id = peerdesk_ledger_append.member_id) THEN
        RAISE EXCEPTION 'a reversal reverses an entry (or the balance of a banned member)'
          USING ERRCODE = 'check_violation';
      END IF;
      SELECT coalesce(sum(l.points), 0) AS points, coalesce(sum(l.amount_minor), 0) AS amount
        INTO balance FROM ledger l WHERE l.member_id = peerdesk_ledger_append.member_id;
      IF (points, amount_minor) IS DISTINCT FROM (-balance.points, -balance.amount) THEN
        RAISE EXCEPTION 'a ban reverses exactly the member''s balance (% points, % minor)',
          balance.points, balance.amount USING ERRCODE = 'check_violation';
      END IF;
    ELSE
      -- the reversal carries its accrual's rule and event, so the unique (kind, rule,
      -- event_key) index makes it the only one (checked above, without reading the ledger)
      SELECT l.member_id, l.kind, l.rule, l.event_key, l.points, l.amount_minor INTO target
        FROM ledger l WHERE l.id = reverses;
      IF target.kind IS DISTINCT FROM 'accrual'
         OR (target.member_id, target.rule, target.event_key, -target.points,
             -target.amount_minor)
            IS DISTINCT FROM (member_id, rule, event_key, points, amount_minor) THEN
        RAISE EXCEPTION 'a reversal negates exactly the accrual it reverses (entry %), once',
          reverses USING ERRCODE = 'check_violation';
      END IF;
    END IF;
  ELSIF kind IN ('payout', 'payout_return') THEN
    SELECT pl.member_id, pl.points, pl.amount_minor, b.prepared_by, b.state INTO line
      FROM payout_lines pl JOIN payout_batches b ON b.id = pl.batch_id
      WHERE pl.id = line_id;
    IF line.member_id IS NULL OR rule <> 'payout' OR event_key <> 'line:' || line_id THEN
      RAISE EXCEPTION 'a % entry is for an existing payout line, as line:<its id>', kind
        USING ERRCODE = 'check_violation';
    END IF;
    IF kind = 'payout' THEN
      IF NOT (pg_has_role(me, 'peerdesk_payout_preparer', 'MEMBER')
              OR pg_has_role(me, 'peerdesk_admin', 'MEMBER')) THEN
        RAISE EXCEPTION '% does not prepare payouts', me USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF line.prepared_by IS DISTINCT FROM me OR line.state IS DISTINCT FROM 'prepared' THEN
        RAISE EXCEPTION 'payout entries are written by the preparer of a prepared batch'
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF reverses IS NOT NULL OR (line.member_id, -line.points, -line.amount_minor)
         IS DISTINCT FROM (member_id, points, amount_minor) THEN
        RAISE EXCEPTION 'a payout entry is exactly its payout line %, negated', line_id
          USING ERRCODE = 'check_violation';
      END IF;
    ELSE
      -- a banned member's money stays out of their balance (their line stays held)
      IF EXISTS (SELECT 1 FROM reward_bans b WHERE b.member_id = line.member_id) THEN
        RAISE EXCEPTION 'member % is banned from rewards: the money of line % is not returned '
          'to their balance', line.member_id, line_id USING ERRCODE = 'check_violation';
      END IF;
      SELECT l.id, l.member_id, l.points, l.amount_minor INTO target FROM ledger l
        WHERE l.kind = 'payout' AND l.rule = 'payout' AND l.event_key = 'line:' || line_id;
      IF target.id IS NULL OR reverses IS DISTINCT FROM target.id
         OR (target.member_id, -target.points, -target.amount_minor)
            IS DISTINCT FROM (member_id, points, amount_minor) THEN
        RAISE EXCEPTION 'a payout_return gives back exactly the payout entry of line %', line_id
          USING ERRCODE = 'check_violation';
      END IF;
    END IF;
  ELSE
    RAISE EXCEPTION 'there is no ledger entry kind %', kind USING ERRCODE = 'check_violation';
  END IF;
  UPDATE peerdesk_team SET import_open = false WHERE import_open;
  RETURN peerdesk_ledger_chain(ROW(NULL, member_id, kind, rule, event_key, thread_id, points,
    amount_minor, currency, schedule_version, occurred_at, NULL, reverses, line_id,
    coalesce(detail, '{}'), NULL, NULL)::ledger, false);
END $$;

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_ledger_import(e peerdesk.ledger)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
BEGIN
  IF NOT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only peerdesk_admin may import ledger entries';
  END IF;
  IF NOT (SELECT import_open FROM peerdesk_team) THEN
    RAISE EXCEPTION 'this team database no longer takes imported ledger entries';
  END IF;
  PERFORM peerdesk_ledger_chain(e, true);
END $$;

-- migrate-to's fast path: the copied entries arrive by COPY in a staging table, then ONE call
-- checks the whole chain set-based (ids follow the newest entry without a gap, each entry's
-- prev_hash is the hash before it, each hash is right) and appends it, in the caller's
-- transaction (peerdesk_import_staged); the same rules as the one-entry import functions above.
-- The staging tables are
-- rebuilt on every install (they are empty outside a copy's transaction).
DROP TABLE IF EXISTS peerdesk.audit_import;
CREATE UNLOGGED TABLE peerdesk.audit_import (LIKE peerdesk.audit, PRIMARY KEY (id));
DROP TABLE IF EXISTS peerdesk.ledger_import;
CREATE UNLOGGED TABLE peerdesk.ledger_import (LIKE peerdesk.ledger, PRIMARY KEY (id));

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_may_import(chain text) RETURNS void
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
BEGIN
  IF NOT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only peerdesk_admin may import % entries', chain;
  END IF;
  IF NOT (SELECT import_open FROM peerdesk_team) THEN
    RAISE EXCEPTION 'this team database no longer takes imported % entries', chain;
  END IF;
END $$;

-- `chain` is 'audit' or 'ledger': its table, its staging table `<chain>_import`, its head
-- record `<chain>_head` in meta, and its digest (the same one the live append uses).
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_import_staged(chain text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
DECLARE
  digest text := CASE chain
    WHEN 'audit' THEN 'peerdesk_audit_digest(i.prev_hash, i.id, i.ts, i.actor, i.action, '
                      'i.target_kind, i.target_id, i.batch_id, i.detail)'
    WHEN 'ledger' THEN 'peerdesk_ledger_digest(i.prev_hash, ROW(i.*)::ledger)' END;
  staged text := chain || '_import';
  head record;
  n bigint;
  lo bigint;
  hi bigint;
  bad record;
BEGIN
  IF digest IS NULL THEN
    RAISE EXCEPTION 'there is no chain named %', chain;
  END IF;
  PERFORM peerdesk_may_import(chain);
  EXECUTE format('LOCK TABLE %I IN SHARE ROW EXCLUSIVE MODE', chain);
  EXECUTE format('SELECT c.id, c.hash FROM %I c ORDER BY c.id DESC LIMIT 1', chain) INTO head;
  EXECUTE format('SELECT count(*), min(i.id), max(i.id) FROM %I i', staged) INTO n, lo, hi;
  IF n = 0 THEN
    RETURN 0;
  END IF;
  IF lo <> coalesce(head.id, 0) + 1 OR hi - lo + 1 <> n THEN
    RAISE EXCEPTION '% entries % to % do not continue the chain (newest is %)', chain, lo, hi,
      coalesce(head.id, 0);
  END IF;
  EXECUTE format(
    'SELECT s.id, s.linked FROM (SELECT i.id, '
    'i.prev_hash = coalesce(lag(i.hash) OVER (ORDER BY i.id), $1) AS linked, '
    'i.hash = %s AS sound FROM %I i) s WHERE NOT (s.linked AND s.sound) ORDER BY s.id LIMIT 1',
    digest, staged) INTO bad USING coalesce(head.hash, repeat('0', 64));
  IF bad.id IS NOT NULL THEN
    RAISE EXCEPTION '% entry %: %', chain, bad.id, CASE WHEN bad.linked
      THEN 'its hash does not match its fields' ELSE 'does not continue the chain' END;
  END IF;
  EXECUTE format('INSERT INTO %I SELECT * FROM %I ORDER BY id', chain, staged);
  EXECUTE format('INSERT INTO meta (key, value) SELECT %L, i.id || '':'' || i.hash FROM %I i '
                 'WHERE i.id = $1 ON CONFLICT (key) DO UPDATE SET value = excluded.value',
                 chain || '_head', staged) USING hi;
  EXECUTE format('DELETE FROM %I', staged);
  RETURN n;
END $$;

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_import_close() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
BEGIN
  IF NOT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only peerdesk_admin may close the import';
  END IF;
  UPDATE peerdesk_team SET import_open = false;
END $$;

-- The planner's statistics for every table of the schema, taken after a bulk copy: until
-- then it takes each table for near-empty (autovacuum comes round later), and a NOT EXISTS of
-- every new event against the ledger ran as a nested loop for minutes. ANALYZE needs the
-- tables' owner, which the admin logging in is not.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_analyze() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
DECLARE
  t text;
BEGIN
  IF NOT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only peerdesk_admin may analyze the team database';
  END IF;
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'peerdesk' ORDER BY tablename LOOP
    EXECUTE format('ANALYZE peerdesk.%I', t);
  END LOOP;
END $$;

RESET ROLE;

-- Functions are callable by PUBLIC unless revoked: each only by the roles that need it.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA peerdesk FROM PUBLIC;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_audit_digest(text, bigint, text, text, text, text,
  bigint, bigint, text), peerdesk.peerdesk_ledger_digest(text, peerdesk.ledger)
  TO peerdesk_readonly, peerdesk_moderator, peerdesk_payout_preparer,
  peerdesk_payout_approver, peerdesk_admin;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_time(interval), peerdesk.peerdesk_importing(),
  peerdesk.peerdesk_accounts_of(text[])
  TO peerdesk_readonly, peerdesk_moderator, peerdesk_payout_preparer,
  peerdesk_payout_approver, peerdesk_admin;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_audit_append(text, text, bigint, bigint, text)
  TO peerdesk_moderator, peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
-- the ledger: the payout roles and admins only (accrue, ban, prepare, approve, results)
REVOKE EXECUTE ON FUNCTION peerdesk.peerdesk_ledger_append(bigint, text, text, text, bigint,
  bigint, bigint, text, text, text, bigint, bigint, text) FROM peerdesk_readonly,
  peerdesk_moderator;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_ledger_append(bigint, text, text, text, bigint,
  bigint, bigint, text, text, text, bigint, bigint, text)
  TO peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_audit_import(bigint, text, text, text, text, bigint,
  bigint, text, text, text), peerdesk.peerdesk_ledger_import(peerdesk.ledger),
  peerdesk.peerdesk_import_close(), peerdesk.peerdesk_import_staged(text),
  peerdesk.peerdesk_analyze() TO peerdesk_admin;
-- pg_trgm's title similarity and distance (duplicate recall's fuzzy titles, migration 19);
-- its other functions stay revoked
GRANT EXECUTE ON FUNCTION peerdesk.similarity(text, text), peerdesk.similarity_op(text, text),
  peerdesk.similarity_dist(text, text)
  TO peerdesk_readonly, peerdesk_moderator, peerdesk_payout_preparer,
  peerdesk_payout_approver, peerdesk_admin;
-- the staging tables: an admin's copy writes them (the staged functions empty them)
REVOKE ALL ON peerdesk.audit_import, peerdesk.ledger_import FROM PUBLIC, peerdesk_readonly,
  peerdesk_moderator, peerdesk_payout_preparer, peerdesk_payout_approver;
GRANT SELECT, INSERT ON peerdesk.audit_import, peerdesk.ledger_import TO peerdesk_admin;
-- trigger functions (peerdesk_append_only, the verification ones) run as triggers, not calls

-- Claims: in the name of the login role only; someone else's only once it ran out (by the
-- server's clock); at most a day long. Admins (and migrate-to) may write any claim.
ALTER TABLE peerdesk.claims ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS claims_read ON peerdesk.claims;
DROP POLICY IF EXISTS claims_take ON peerdesk.claims;
DROP POLICY IF EXISTS claims_renew ON peerdesk.claims;
DROP POLICY IF EXISTS claims_release ON peerdesk.claims;
DROP POLICY IF EXISTS claims_admin ON peerdesk.claims;
CREATE POLICY claims_read ON peerdesk.claims FOR SELECT USING (true);
CREATE POLICY claims_take ON peerdesk.claims FOR INSERT TO peerdesk_moderator
  WITH CHECK (holder = session_user AND expires_at <= peerdesk.peerdesk_time('1 day'));
CREATE POLICY claims_renew ON peerdesk.claims FOR UPDATE TO peerdesk_moderator
  USING (holder = session_user OR expires_at <= peerdesk.peerdesk_time())
  WITH CHECK (holder = session_user AND expires_at <= peerdesk.peerdesk_time('1 day'));
CREATE POLICY claims_release ON peerdesk.claims FOR DELETE TO peerdesk_moderator
  USING (holder = session_user OR expires_at <= peerdesk.peerdesk_time());
CREATE POLICY claims_admin ON peerdesk.claims FOR ALL TO peerdesk_admin
  USING (true) WITH CHECK (true);

-- Outbox: queued as new (never as already sent); an item being sent (a live lease) is the
-- lease's role's alone; nobody but an admin deletes one. What may change is the trigger's.
ALTER TABLE peerdesk.outbox ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS outbox_read ON peerdesk.outbox;
DROP POLICY IF EXISTS outbox_queue ON peerdesk.outbox;
DROP POLICY IF EXISTS outbox_send ON peerdesk.outbox;
DROP POLICY IF EXISTS outbox_admin ON peerdesk.outbox;
CREATE POLICY outbox_read ON peerdesk.outbox FOR SELECT USING (true);
CREATE POLICY outbox_queue ON peerdesk.outbox FOR INSERT TO peerdesk_moderator
  WITH CHECK (state IN ('pending', 'local_only', 'conflict') AND attempts = 0
              AND lease_owner IS NULL AND lease_until IS NULL AND sent_at IS NULL);
CREATE POLICY outbox_send ON peerdesk.outbox FOR UPDATE TO peerdesk_moderator
  USING (state <> 'sending' OR lease_role = session_user OR lease_until IS NULL
         OR lease_until <= peerdesk.peerdesk_time())
  WITH CHECK (true);
CREATE POLICY outbox_admin ON peerdesk.outbox FOR ALL TO peerdesk_admin
  USING (true) WITH CHECK (true);
REVOKE DELETE ON peerdesk.outbox FROM peerdesk_moderator;
REVOKE UPDATE, DELETE ON peerdesk.payout_approvals FROM peerdesk_payout_preparer,
  peerdesk_payout_approver;

-- Appeals: a moderator files a member's appeal against a held payout line (the payout_appeal
-- action) in their own name and undecided, with its one history line; nothing else of the
-- payout tables. Deciding it (and every other payout write) stays with the payout roles.
GRANT INSERT ON peerdesk.payout_appeals, peerdesk.payout_line_history TO peerdesk_moderator;
ALTER TABLE peerdesk.payout_appeals ENABLE ROW LEVEL SECURITY;
ALTER TABLE peerdesk.payout_line_history ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS appeals_read ON peerdesk.payout_appeals;
DROP POLICY IF EXISTS appeals_payout ON peerdesk.payout_appeals;
DROP POLICY IF EXISTS appeals_file ON peerdesk.payout_appeals;
DROP POLICY IF EXISTS history_read ON peerdesk.payout_line_history;
DROP POLICY IF EXISTS history_payout ON peerdesk.payout_line_history;
DROP POLICY IF EXISTS history_appeal ON peerdesk.payout_line_history;
CREATE POLICY appeals_read ON peerdesk.payout_appeals FOR SELECT USING (true);
CREATE POLICY appeals_payout ON peerdesk.payout_appeals FOR ALL
  TO peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY appeals_file ON peerdesk.payout_appeals FOR INSERT TO peerdesk_moderator
  WITH CHECK (filed_by = session_user AND decision IS NULL AND decided_by IS NULL
              AND decided_at IS NULL AND reason IS NULL);
CREATE POLICY history_read ON peerdesk.payout_line_history FOR SELECT USING (true);
CREATE POLICY history_payout ON peerdesk.payout_line_history FOR ALL
  TO peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin
  USING (true) WITH CHECK (true);
CREATE POLICY history_appeal ON peerdesk.payout_line_history FOR INSERT TO peerdesk_moderator
  WITH CHECK (actor = session_user AND action = 'appeal');
