ALTER TABLE "deliveries" ADD COLUMN "body" text;--> statement-breakpoint
ALTER TABLE "deliveries" ADD COLUMN "issue_number" integer;--> statement-breakpoint
-- Deliveries recorded before keep their payload, as jsonb printed it (same values; key order and spacing
-- may differ from what GitHub sent, which nothing reads).
UPDATE "deliveries" SET "body" = "payload"::text;--> statement-breakpoint
-- The issue of an issues.* delivery, where its number fits the column (a larger one never made a task).
UPDATE "deliveries" SET "issue_number" = CASE
  WHEN "payload"->'issue'->>'number' ~ '^[0-9]{1,10}$' THEN
    CASE WHEN ("payload"->'issue'->>'number')::bigint BETWEEN 1 AND 2147483647
      THEN ("payload"->'issue'->>'number')::integer END
  END
WHERE "event" = 'issues';--> statement-breakpoint
ALTER TABLE "deliveries" ALTER COLUMN "body" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" DROP COLUMN "payload";
