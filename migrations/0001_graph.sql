CREATE TABLE "dependencies" (
	"dependent" text NOT NULL,
	"blocker" text NOT NULL,
	"source" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dependencies_dependent_blocker_source_pk" PRIMARY KEY("dependent","blocker","source")
);
--> statement-breakpoint
CREATE TABLE "issues" (
	"key" text PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"repo_full_name" text NOT NULL,
	"number" integer NOT NULL,
	"title" text DEFAULT '' NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"closed_as" text,
	"labels" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"milestone" text,
	"parent_key" text,
	"sub_order" integer,
	"readable" boolean DEFAULT true NOT NULL,
	"unreadable_reason" text,
	"story_comment_id" bigint,
	"links_synced_at" timestamp with time zone,
	"github_created_at" timestamp with time zone,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheduler_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"generation" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "dispatched_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "cycle" text;--> statement-breakpoint
CREATE INDEX "dependencies_blocker" ON "dependencies" USING btree ("blocker");--> statement-breakpoint
CREATE INDEX "issues_installation" ON "issues" USING btree ("installation_id");--> statement-breakpoint
CREATE INDEX "issues_parent" ON "issues" USING btree ("parent_key");