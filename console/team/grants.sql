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
--                           hash on the server; no UPDATE, DELETE or TRUNCATE for anyone else
--   payout tables           written by peerdesk_payout_preparer, peerdesk_payout_approver
--                           and peerdesk_admin only (payout_*, reward_payees, reward_bans,
--                           reward_schedules)
--   everything else         written by peerdesk_moderator and peerdesk_admin (threads,
--                           posts, claims, outbox, decisions...)
--   meta                    written by every writing role, except the chains' head records
--                           (audit_head, ledger_head: row-level security), which only the
--                           append functions write
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
                         'reward_payees', 'reward_bans', 'reward_schedules'];
  append_only text[] := ARRAY['audit', 'ledger'];
  owner_only text[] := ARRAY['peerdesk_team'];
  admin_only text[] := ARRAY['copy_progress'];
  t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'peerdesk' LOOP
    IF t = ANY (admin_only) THEN
      EXECUTE format('GRANT INSERT, UPDATE, DELETE ON peerdesk.%I TO peerdesk_admin', t);
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
-- run as the owner, and the owner is not subject to row-level security).
ALTER TABLE peerdesk.meta ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS meta_read ON peerdesk.meta;
DROP POLICY IF EXISTS meta_write ON peerdesk.meta;
CREATE POLICY meta_read ON peerdesk.meta FOR SELECT USING (true);
CREATE POLICY meta_write ON peerdesk.meta FOR ALL
  USING (key NOT IN ('audit_head', 'ledger_head'))
  WITH CHECK (key NOT IN ('audit_head', 'ledger_head'));

-- The append functions run as peerdesk_owner (SECURITY DEFINER) with a fixed search_path.
SET ROLE peerdesk_owner;

-- The audit entry's hash, exactly as console/audit.py computes it: SHA-256 (hex) of the
-- previous hash followed by the entry's fields as compact JSON with sorted keys.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_audit_digest(
  prev_hash text, id bigint, ts text, actor text, action text, target_kind text,
  target_id bigint, batch_id bigint, detail text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT encode(sha256(convert_to(prev_hash
    || '{"action":' || to_json(action)::text
    || ',"actor":' || to_json(actor)::text
    || ',"batch_id":' || coalesce(batch_id::text, 'null')
    || ',"detail":' || to_json(detail)::text
    || ',"id":' || id::text
    || ',"target_id":' || coalesce(target_id::text, 'null')
    || ',"target_kind":' || to_json(target_kind)::text
    || ',"ts":' || to_json(ts)::text || '}', 'UTF8')), 'hex')
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
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT encode(sha256(convert_to(prev_hash || '[' || concat_ws(',',
    e.id::text, e.member_id::text, to_json(e.kind)::text, to_json(e.rule)::text,
    to_json(e.event_key)::text, coalesce(e.thread_id::text, 'null'), e.points::text,
    e.amount_minor::text, to_json(e.currency)::text, to_json(e.schedule_version)::text,
    to_json(e.occurred_at)::text, to_json(e.recorded_at)::text,
    coalesce(e.reverses::text, 'null'), coalesce(e.line_id::text, 'null'),
    to_json(e.detail)::text) || ']', 'UTF8')), 'hex')
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

-- A live ledger entry (accruals, reversals, payouts): the server numbers, stamps and chains it.
CREATE OR REPLACE FUNCTION peerdesk.peerdesk_ledger_append(
  member_id bigint, kind text, rule text, event_key text, thread_id bigint, points bigint,
  amount_minor bigint, currency text, schedule_version text, occurred_at text,
  reverses bigint, line_id bigint, detail text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
BEGIN
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

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_import_close() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = peerdesk, pg_temp AS $$
BEGIN
  IF NOT pg_has_role(session_user, 'peerdesk_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'only peerdesk_admin may close the import';
  END IF;
  UPDATE peerdesk_team SET import_open = false;
END $$;

RESET ROLE;

-- Functions are callable by PUBLIC unless revoked: each only by the roles that need it.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA peerdesk FROM PUBLIC;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_audit_digest(text, bigint, text, text, text, text,
  bigint, bigint, text), peerdesk.peerdesk_ledger_digest(text, peerdesk.ledger)
  TO peerdesk_readonly, peerdesk_moderator, peerdesk_payout_preparer,
  peerdesk_payout_approver, peerdesk_admin;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_audit_append(text, text, bigint, bigint, text)
  TO peerdesk_moderator, peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_ledger_append(bigint, text, text, text, bigint,
  bigint, bigint, text, text, text, bigint, bigint, text)
  TO peerdesk_moderator, peerdesk_payout_preparer, peerdesk_payout_approver, peerdesk_admin;
GRANT EXECUTE ON FUNCTION peerdesk.peerdesk_audit_import(bigint, text, text, text, text, bigint,
  bigint, text, text, text), peerdesk.peerdesk_ledger_import(peerdesk.ledger),
  peerdesk.peerdesk_import_close() TO peerdesk_admin;
-- trigger functions (peerdesk_append_only, the verification ones) run as triggers, not calls
