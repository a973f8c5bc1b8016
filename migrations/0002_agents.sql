ALTER TABLE "attempts" ADD COLUMN "agent" text;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "agent_outcome" text;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "input_tokens" integer;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "output_tokens" integer;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "session_id" text;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "checks" jsonb;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "verdict_problem" text;--> statement-breakpoint
ALTER TABLE "attempts" ADD COLUMN "lease_expires_at" timestamp with time zone;