ALTER TABLE "inventory" ADD COLUMN "replan_level" integer;--> statement-breakpoint
ALTER TABLE "product_forecasts" ADD COLUMN "reorder_point" integer;--> statement-breakpoint
ALTER TABLE "product_forecasts" ADD COLUMN "planned_available" integer;--> statement-breakpoint
ALTER TABLE "product_forecasts" ADD COLUMN "planned_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "inventory" ADD CONSTRAINT "inventory_replan_level_nonnegative" CHECK ("inventory"."replan_level" is null or "inventory"."replan_level" >= 0);
