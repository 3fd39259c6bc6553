-- peerdesk team store: tell open consoles about claims and decisions at once.
--
-- `peerdesk team-install` runs this file after grants.sql. Every claim taken, renewed or given
-- up and every audit entry (every decision writes one) sends one notification on the channel
-- `peerdesk` when its transaction commits (LISTEN/NOTIFY: nothing is sent for a transaction
-- that rolls back). The payload is a small JSON object; consoles listen with
-- console/team/notify.py and reload what they show. Nothing secret is in it: the names of
-- who claimed or decided, what and which item, as every peerdesk role may read anyway.
--
-- migrate-to's copy sets `peerdesk.quiet` for its own transactions: a million copied entries
-- are not a million notifications.

SET ROLE peerdesk_owner;

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_notify_claim() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
DECLARE
  claim record;
BEGIN
  IF current_setting('peerdesk.quiet', true) = 'on' THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    claim := OLD;
  ELSE
    claim := NEW;
  END IF;
  PERFORM pg_notify('peerdesk', json_build_object(
    'kind', CASE WHEN TG_OP = 'DELETE' THEN 'release' ELSE 'claim' END,
    'thread_id', claim.thread_id, 'holder', claim.holder,
    'expires_at', claim.expires_at)::text);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS claims_notify ON peerdesk.claims;
CREATE TRIGGER claims_notify AFTER INSERT OR UPDATE OR DELETE ON peerdesk.claims
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_notify_claim();

CREATE OR REPLACE FUNCTION peerdesk.peerdesk_notify_decision() RETURNS trigger
LANGUAGE plpgsql SET search_path = peerdesk, pg_temp AS $$
BEGIN
  IF current_setting('peerdesk.quiet', true) = 'on' THEN
    RETURN NULL;
  END IF;
  PERFORM pg_notify('peerdesk', json_build_object(
    'kind', 'decision', 'audit_id', NEW.id, 'action', NEW.action, 'actor', NEW.actor,
    'target_kind', NEW.target_kind, 'target_id', NEW.target_id)::text);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS audit_notify ON peerdesk.audit;
CREATE TRIGGER audit_notify AFTER INSERT ON peerdesk.audit
  FOR EACH ROW EXECUTE FUNCTION peerdesk.peerdesk_notify_decision();

RESET ROLE;
REVOKE ALL ON FUNCTION peerdesk.peerdesk_notify_claim(), peerdesk.peerdesk_notify_decision()
  FROM PUBLIC;
