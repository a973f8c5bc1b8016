ALTER TABLE "attempts" ADD COLUMN "lost_leases" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing attempts: the leases lost so far, counted as Drover counted them before (epochs taken over,
-- less those handed back, which it recorded as task.interrupted events).
UPDATE "attempts" SET "lost_leases" = greatest(0, "lease_epoch" - 1 - (
  SELECT count(*) FROM "events"
  WHERE "events"."type" = 'task.interrupted'
    AND "events"."data"->>'attemptId' = "attempts"."id"::text
    AND ("events"."data"->>'epoch')::int < "attempts"."lease_epoch"
)) WHERE "lease_epoch" > 1;--> statement-breakpoint
-- A running attempt whose current lease was handed back has no owner, so its next claim counts no loss.
UPDATE "attempts" SET "lease_owner" = NULL
WHERE "state" = 'running' AND EXISTS (
  SELECT 1 FROM "events"
  WHERE "events"."type" = 'task.interrupted'
    AND "events"."data"->>'attemptId' = "attempts"."id"::text
    AND ("events"."data"->>'epoch')::int = "attempts"."lease_epoch"
);
