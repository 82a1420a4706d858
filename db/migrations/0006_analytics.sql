CREATE TABLE "analytics_applied_events" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_customers" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"first_order_at" timestamp with time zone NOT NULL,
	"last_order_at" timestamp with time zone NOT NULL,
	"orders" integer NOT NULL,
	"revenue_cents" bigint NOT NULL,
	CONSTRAINT "analytics_customers_nonnegative" CHECK ("analytics_customers"."orders" > 0 and "analytics_customers"."revenue_cents" >= 0 and "analytics_customers"."first_order_at" <= "analytics_customers"."last_order_at")
);
--> statement-breakpoint
CREATE TABLE "analytics_hourly" (
	"hour" timestamp with time zone PRIMARY KEY NOT NULL,
	"revenue_cents" bigint DEFAULT 0 NOT NULL,
	"orders" integer DEFAULT 0 NOT NULL,
	"units" integer DEFAULT 0 NOT NULL,
	"refunds_cents" bigint DEFAULT 0 NOT NULL,
	"refunds" integer DEFAULT 0 NOT NULL,
	"cancellations" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_hourly_nonnegative" CHECK ("analytics_hourly"."revenue_cents" >= 0 and "analytics_hourly"."orders" >= 0 and "analytics_hourly"."units" >= 0 and "analytics_hourly"."refunds_cents" >= 0 and "analytics_hourly"."refunds" >= 0 and "analytics_hourly"."cancellations" >= 0),
	CONSTRAINT "analytics_hourly_aligned" CHECK ("analytics_hourly"."hour" = date_trunc('hour', "analytics_hourly"."hour", 'UTC'))
);
--> statement-breakpoint
CREATE TABLE "analytics_order_facts" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"paid" boolean DEFAULT false NOT NULL,
	"refunded" boolean DEFAULT false NOT NULL,
	"cancelled" boolean DEFAULT false NOT NULL,
	"revenue_cents" bigint DEFAULT 0 NOT NULL,
	"units" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_order_facts_nonnegative" CHECK ("analytics_order_facts"."revenue_cents" >= 0 and "analytics_order_facts"."units" >= 0),
	CONSTRAINT "analytics_order_facts_refund_paid" CHECK (not "analytics_order_facts"."refunded" or "analytics_order_facts"."paid")
);
--> statement-breakpoint
CREATE TABLE "analytics_product_hourly" (
	"hour" timestamp with time zone NOT NULL,
	"product_id" uuid NOT NULL,
	"revenue_cents" bigint DEFAULT 0 NOT NULL,
	"units" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "analytics_product_hourly_hour_product_id_pk" PRIMARY KEY("hour","product_id"),
	CONSTRAINT "analytics_product_hourly_nonnegative" CHECK ("analytics_product_hourly"."revenue_cents" >= 0 and "analytics_product_hourly"."units" >= 0)
);
--> statement-breakpoint
CREATE INDEX "analytics_customers_first_idx" ON "analytics_customers" USING btree ("first_order_at");--> statement-breakpoint
CREATE INDEX "analytics_order_facts_created_idx" ON "analytics_order_facts" USING btree ("created_at","order_id");--> statement-breakpoint
CREATE INDEX "analytics_order_facts_paid_created_user_idx" ON "analytics_order_facts" USING btree ("created_at","user_id") WHERE "analytics_order_facts"."paid";--> statement-breakpoint
CREATE INDEX "analytics_order_facts_user_idx" ON "analytics_order_facts" USING btree ("user_id","created_at") WHERE "analytics_order_facts"."paid";--> statement-breakpoint
-- Totals of [a, b) by order placement time: whole UTC hours from analytics_hourly, the partial
-- hours at either edge from analytics_order_facts (two index range scans), so any window —
-- rolling, or bounded by a local midnight 30 minutes off the UTC hour — is exact and reads at most
-- (hours + 2 partial hours of orders) rows.
-- Covering index: a window's product rows are an index-only scan (no heap visits).
CREATE INDEX "analytics_product_hourly_cover_idx" ON "analytics_product_hourly" ("hour") INCLUDE ("product_id", "revenue_cents", "units");
--> statement-breakpoint
CREATE FUNCTION analytics_hour_ceil(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  select case when t = date_trunc('hour', t, 'UTC') then t else date_trunc('hour', t, 'UTC') + interval '1 hour' end
$$;
--> statement-breakpoint
-- The bounds are expressions of the parameters (not columns of a CTE) so the planner can use them
-- as index range bounds: read through a CTE, the edge scans ran from `a` to the end of the index.
CREATE FUNCTION analytics_range(a timestamptz, b timestamptz,
  OUT revenue_cents bigint, OUT orders bigint, OUT units bigint, OUT refunds_cents bigint, OUT refunds bigint, OUT cancellations bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  with parts as (
    select h.revenue_cents, h.orders::bigint as orders, h.units::bigint as units, h.refunds_cents, h.refunds::bigint as refunds, h.cancellations::bigint as cancellations
      from analytics_hourly h where h.hour >= analytics_hour_ceil(a) and h.hour < date_trunc('hour', b, 'UTC')
    union all
    select case when f.paid then f.revenue_cents else 0 end, f.paid::int, case when f.paid then f.units else 0 end,
           case when f.refunded then f.revenue_cents else 0 end, f.refunded::int, f.cancelled::int
      from analytics_order_facts f where f.created_at >= a and f.created_at < least(analytics_hour_ceil(a), b)
    union all
    select case when f.paid then f.revenue_cents else 0 end, f.paid::int, case when f.paid then f.units else 0 end,
           case when f.refunded then f.revenue_cents else 0 end, f.refunded::int, f.cancelled::int
      from analytics_order_facts f
      where f.created_at >= greatest(date_trunc('hour', b, 'UTC'), analytics_hour_ceil(a)) and f.created_at < b
  )
  select coalesce(sum(revenue_cents), 0)::bigint, coalesce(sum(orders), 0)::bigint, coalesce(sum(units), 0)::bigint,
         coalesce(sum(refunds_cents), 0)::bigint, coalesce(sum(refunds), 0)::bigint, coalesce(sum(cancellations), 0)::bigint
  from parts
$$;
