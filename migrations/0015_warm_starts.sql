ALTER TABLE "attempts" ADD COLUMN "timings" jsonb;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "base_sha" text;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "base_pushed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "repositories" ADD COLUMN "removed_at" timestamp with time zone;