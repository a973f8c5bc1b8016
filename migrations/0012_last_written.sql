CREATE TABLE "last_written" (
	"key" text PRIMARY KEY NOT NULL,
	"labels" jsonb,
	"status_comment_id" bigint,
	"status_hash" text,
	"story_comment_id" bigint,
	"story_hash" text,
	"owed_since" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconcile_marks" (
	"repo_id" bigint PRIMARY KEY NOT NULL,
	"since" timestamp with time zone,
	"passed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reconcile_marks" ADD CONSTRAINT "reconcile_marks_repo_id_repositories_id_fk" FOREIGN KEY ("repo_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;