-- A repository renamed, transferred or moved to another installation changes the key and installation of
-- every task in it: each leaves a graph_changes row, under its old key and its new one.
CREATE FUNCTION "graph_change_repository"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD."full_name", OLD."installation_id") IS DISTINCT FROM (NEW."full_name", NEW."installation_id") THEN
    INSERT INTO "graph_changes" ("key", "task_id")
      SELECT lower(r."name") || '#' || t."issue_number", t."id"
      FROM "tasks" t, (VALUES (OLD."full_name"), (NEW."full_name")) AS r("name")
      WHERE t."repo_id" = NEW."id";
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "repositories_graph_change" AFTER UPDATE ON "repositories"
  FOR EACH ROW EXECUTE FUNCTION "graph_change_repository"();
