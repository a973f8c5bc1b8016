-- last_written becomes the one place a status or story comment's id is kept: the ids only the old columns
-- hold are copied there first, so deployed issues keep having their comments edited, not made again. The
-- hash stays unknown (the next write edits once); an id last_written already has is the newer one and stays.
INSERT INTO "last_written" ("key", "status_comment_id")
SELECT DISTINCT ON (lower("repositories"."full_name") || '#' || "tasks"."issue_number")
  lower("repositories"."full_name") || '#' || "tasks"."issue_number", "tasks"."status_comment_id"
FROM "tasks" JOIN "repositories" ON "repositories"."id" = "tasks"."repo_id"
WHERE "tasks"."status_comment_id" IS NOT NULL
ORDER BY lower("repositories"."full_name") || '#' || "tasks"."issue_number", "tasks"."updated_at" DESC
ON CONFLICT ("key") DO UPDATE SET "status_comment_id" = excluded."status_comment_id", "status_hash" = NULL
WHERE "last_written"."status_comment_id" IS NULL;--> statement-breakpoint
INSERT INTO "last_written" ("key", "story_comment_id")
SELECT "key", "story_comment_id" FROM "issues" WHERE "story_comment_id" IS NOT NULL
ON CONFLICT ("key") DO UPDATE SET "story_comment_id" = excluded."story_comment_id", "story_hash" = NULL
WHERE "last_written"."story_comment_id" IS NULL;--> statement-breakpoint
ALTER TABLE "issues" DROP COLUMN "story_comment_id";--> statement-breakpoint
ALTER TABLE "tasks" DROP COLUMN "status_comment_id";
