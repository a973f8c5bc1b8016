CREATE TABLE "graph_changes" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"task_id" integer,
	"txid" bigint DEFAULT (pg_current_xact_id()::text)::bigint NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "scheduler_state" ADD COLUMN "changes_pruned_below" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "graph_changes_txid" ON "graph_changes" USING btree ("txid");--> statement-breakpoint
CREATE INDEX "graph_changes_at" ON "graph_changes" USING btree ("at");--> statement-breakpoint
-- Every change that can move the task graph leaves its key in graph_changes (read by the scheduler's
-- in-memory graph). Only the columns the graph reads count: a sync that changes nothing leaves no row.
CREATE FUNCTION "graph_change_issue"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO "graph_changes" ("key") VALUES (OLD."key");
  ELSIF TG_OP = 'INSERT' OR (OLD."state", OLD."closed_as", OLD."labels", OLD."parent_key", OLD."sub_order",
      OLD."readable", OLD."unreadable_reason", OLD."links_synced_at" IS NULL, OLD."github_created_at")
      IS DISTINCT FROM (NEW."state", NEW."closed_as", NEW."labels", NEW."parent_key", NEW."sub_order",
      NEW."readable", NEW."unreadable_reason", NEW."links_synced_at" IS NULL, NEW."github_created_at") THEN
    INSERT INTO "graph_changes" ("key") VALUES (NEW."key");
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "issues_graph_change" AFTER INSERT OR UPDATE OR DELETE ON "issues"
  FOR EACH ROW EXECUTE FUNCTION "graph_change_issue"();
--> statement-breakpoint
CREATE FUNCTION "graph_change_dependency"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "graph_changes" ("key")
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD."dependent" ELSE NEW."dependent" END);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "dependencies_graph_change" AFTER INSERT OR UPDATE OR DELETE ON "dependencies"
  FOR EACH ROW EXECUTE FUNCTION "graph_change_dependency"();
--> statement-breakpoint
CREATE FUNCTION "graph_change_task"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  row_ "tasks";
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_ := OLD;
  ELSIF TG_OP = 'INSERT' OR (OLD."state", OLD."state_reason", OLD."cycle", OLD."config", OLD."repo_id",
      OLD."issue_number") IS DISTINCT FROM (NEW."state", NEW."state_reason", NEW."cycle", NEW."config",
      NEW."repo_id", NEW."issue_number") THEN
    row_ := NEW;
  ELSE
    RETURN NULL;
  END IF;
  -- A task whose repository row is gone still counts (by its id): the reader drops it.
  INSERT INTO "graph_changes" ("key", "task_id") VALUES (
    coalesce((SELECT lower(r."full_name") FROM "repositories" r WHERE r."id" = row_."repo_id"), '')
      || '#' || row_."issue_number",
    row_."id");
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "tasks_graph_change" AFTER INSERT OR UPDATE OR DELETE ON "tasks"
  FOR EACH ROW EXECUTE FUNCTION "graph_change_task"();
