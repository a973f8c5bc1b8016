CREATE TABLE "plan_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"run_key" text NOT NULL,
	"repo_id" bigint NOT NULL,
	"issue_number" integer NOT NULL,
	"requested_by" text NOT NULL,
	"version" integer,
	"items" jsonb,
	"problem" text,
	"body" text NOT NULL,
	"comment_id" bigint,
	"comment_hash" text,
	"accepted_by" text,
	"accepted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "plan_runs_run_key_unique" UNIQUE("run_key")
);
--> statement-breakpoint
ALTER TABLE "plan_runs" ADD CONSTRAINT "plan_runs_repo_id_repositories_id_fk" FOREIGN KEY ("repo_id") REFERENCES "public"."repositories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "plan_runs_issue_version" ON "plan_runs" USING btree ("repo_id","issue_number","version");