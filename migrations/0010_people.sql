CREATE TABLE "command_runs" (
	"delivery_id" text NOT NULL,
	"index" integer NOT NULL,
	"task_id" integer,
	"command" text NOT NULL,
	"author" text NOT NULL,
	"outcome" text NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	"answered_at" timestamp with time zone,
	CONSTRAINT "command_runs_delivery_id_index_pk" PRIMARY KEY("delivery_id","index")
);
--> statement-breakpoint
CREATE TABLE "hints" (
	"id" serial PRIMARY KEY NOT NULL,
	"task_id" integer NOT NULL,
	"kind" text NOT NULL,
	"author" text NOT NULL,
	"author_id" bigint,
	"body" text NOT NULL,
	"path" text,
	"line" integer,
	"diff_hunk" text,
	"review_id" bigint,
	"url" text,
	"source_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "start" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "next_start" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "resolution" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "rework_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "approved_by" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "approved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "hints" ADD CONSTRAINT "hints_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "hints_task" ON "hints" USING btree ("task_id");--> statement-breakpoint
CREATE UNIQUE INDEX "hints_source" ON "hints" USING btree ("source_id");