CREATE TABLE "api_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"token_hash" text NOT NULL,
	"repos" jsonb,
	"can_write" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "event_cursors" (
	"name" text PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notify_deliveries" (
	"id" serial PRIMARY KEY NOT NULL,
	"target_key" text NOT NULL,
	"target" text NOT NULL,
	"format" text NOT NULL,
	"event_seq" bigint NOT NULL,
	"repo" text,
	"state" text DEFAULT 'pending' NOT NULL,
	"tries" integer DEFAULT 0 NOT NULL,
	"last_status" integer,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "web_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"login" text NOT NULL,
	"user_id" bigint NOT NULL,
	"repos" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "events" DROP CONSTRAINT "events_task_id_tasks_id_fk";
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "repo" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "issue" integer;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "story" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "attempt" integer;--> statement-breakpoint
CREATE UNIQUE INDEX "notify_deliveries_target_event" ON "notify_deliveries" USING btree ("target_key","event_seq");--> statement-breakpoint
CREATE INDEX "notify_deliveries_state" ON "notify_deliveries" USING btree ("state");--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "events_seq" ON "events" USING btree ("seq");--> statement-breakpoint
CREATE INDEX "events_repo_seq" ON "events" USING btree ("repo","seq");--> statement-breakpoint
-- Events written before this migration: their task's repository and issue, and a seq in id order.
UPDATE "events" e SET "repo" = r."full_name", "issue" = t."issue_number"
  FROM "tasks" t JOIN "repositories" r ON r."id" = t."repo_id" WHERE t."id" = e."task_id";
--> statement-breakpoint
CREATE SEQUENCE "events_seq_order" AS bigint;
--> statement-breakpoint
UPDATE "events" e SET "seq" = o."n" FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS "n" FROM "events") o
  WHERE e."id" = o."id";
--> statement-breakpoint
SELECT setval('events_seq_order', coalesce((SELECT max("seq") FROM "events"), 0) + 1, false);
--> statement-breakpoint
-- Every event names its task's repository, issue, story and attempt, and who caused it: the writer's
-- values, else the task's, else the transaction's `drover.actor` (src/db/events.ts withCause).
CREATE FUNCTION "event_fill"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  repo_ text;
  issue_ integer;
  attempt_ integer;
BEGIN
  IF NEW."task_id" IS NOT NULL THEN
    SELECT r."full_name", t."issue_number", t."attempt_count" INTO repo_, issue_, attempt_
      FROM "tasks" t JOIN "repositories" r ON r."id" = t."repo_id" WHERE t."id" = NEW."task_id";
    NEW."repo" := coalesce(NEW."repo", repo_);
    NEW."issue" := coalesce(NEW."issue", issue_);
    NEW."attempt" := coalesce(NEW."attempt", nullif(attempt_, 0));
    IF NEW."story" IS NULL AND repo_ IS NOT NULL THEN
      NEW."story" := (SELECT i."parent_key" FROM "issues" i WHERE i."key" = lower(repo_) || '#' || issue_);
    END IF;
  END IF;
  NEW."actor" := coalesce(NEW."actor", nullif(current_setting('drover.actor', true), ''));
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "events_fill" BEFORE INSERT ON "events" FOR EACH ROW EXECUTE FUNCTION "event_fill"();
--> statement-breakpoint
-- At commit, each event gets its place in commit order (one lock, taken last, so no deadlock) and the
-- `drover_events` channel is told (one notification per transaction: same channel, same payload).
CREATE FUNCTION "event_publish"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('drover:events', 0));
  UPDATE "events" SET "seq" = nextval('events_seq_order') WHERE "id" = NEW."id" AND "seq" IS NULL;
  PERFORM pg_notify('drover_events', '');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "events_publish" AFTER INSERT ON "events" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION "event_publish"();
--> statement-breakpoint
-- A task's state changes, its pull request and its resolution are events, written in the transaction that
-- made them. The type is named by the move (src/db/events.ts TASK_EVENT_TYPES); the transaction's
-- `drover.cause` (JSON) adds to its data.
CREATE FUNCTION "task_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  type_ text;
  cause_ jsonb := coalesce(nullif(current_setting('drover.cause', true), '')::jsonb, '{}'::jsonb);
BEGIN
  IF TG_OP = 'INSERT' OR OLD."state" IS DISTINCT FROM NEW."state" THEN
    type_ := CASE
      WHEN NEW."state" = 'ready' AND TG_OP = 'UPDATE' AND OLD."state" = 'waiting' THEN 'task.unblocked'
      WHEN NEW."state" = 'ready' AND TG_OP = 'UPDATE' AND OLD."state" = 'paused' THEN 'task.resumed'
      WHEN NEW."state" = 'ready' AND TG_OP = 'UPDATE'
        AND OLD."state" IN ('failed', 'blocked', 'cancelled', 'review', 'conflict', 'done') THEN 'task.retried'
      WHEN NEW."state" = 'running' THEN 'task.started'
      WHEN NEW."state" = 'done' THEN 'task.completed'
      ELSE 'task.' || NEW."state"
    END;
    INSERT INTO "events" ("task_id", "type", "data") VALUES (NEW."id", type_,
      jsonb_strip_nulls(jsonb_build_object(
        'from', CASE WHEN TG_OP = 'UPDATE' THEN OLD."state" END,
        'to', NEW."state",
        'reason', NEW."state_reason",
        'pr', NEW."pr_number")) || cause_);
  END IF;
  IF TG_OP = 'UPDATE' AND NEW."pr_number" IS NOT NULL AND OLD."pr_number" IS DISTINCT FROM NEW."pr_number" THEN
    INSERT INTO "events" ("task_id", "type", "data")
      VALUES (NEW."id", 'pr.opened', jsonb_build_object('pr', NEW."pr_number"));
  END IF;
  IF TG_OP = 'UPDATE' AND NEW."resolution" IS NOT NULL AND OLD."resolution" IS DISTINCT FROM NEW."resolution" THEN
    INSERT INTO "events" ("task_id", "type", "data")
      VALUES (NEW."id", 'task.resolved', jsonb_build_object('note', NEW."resolution") || cause_);
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "tasks_event" AFTER INSERT OR UPDATE ON "tasks" FOR EACH ROW EXECUTE FUNCTION "task_event"();
--> statement-breakpoint
-- A hint (a `/drover hint`, a review asking for changes, each of its comments) is an event by its author.
CREATE FUNCTION "hint_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("task_id", "type", "actor", "data")
    VALUES (NEW."task_id", 'task.hinted', NEW."author",
      jsonb_strip_nulls(jsonb_build_object('kind', NEW."kind", 'hint', NEW."id", 'url', NEW."url")));
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "hints_event" AFTER INSERT ON "hints" FOR EACH ROW EXECUTE FUNCTION "hint_event"();
