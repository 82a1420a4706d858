CREATE TABLE "planning_alerts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"subject_id" uuid NOT NULL,
	"message" text NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "planning_alerts_kind_check" CHECK ("planning_alerts"."kind" in ('stockout_risk', 'purchase_order_overdue', 'supplier_reliability')),
	CONSTRAINT "planning_alerts_severity_check" CHECK ("planning_alerts"."severity" in ('warning', 'critical'))
);
--> statement-breakpoint
CREATE TABLE "product_forecasts" (
	"product_id" uuid PRIMARY KEY NOT NULL,
	"method" text NOT NULL,
	"accuracy" jsonb NOT NULL,
	"history" jsonb NOT NULL,
	"forecast" jsonb NOT NULL,
	"sigma" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "purchase_order_lines" (
	"id" uuid PRIMARY KEY NOT NULL,
	"purchase_order_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	"received" integer DEFAULT 0 NOT NULL,
	"unit_cost_cents" bigint NOT NULL,
	CONSTRAINT "purchase_order_lines_quantity_positive" CHECK ("purchase_order_lines"."quantity" > 0),
	CONSTRAINT "purchase_order_lines_received_range" CHECK ("purchase_order_lines"."received" >= 0 and "purchase_order_lines"."received" <= "purchase_order_lines"."quantity"),
	CONSTRAINT "purchase_order_lines_cost_positive" CHECK ("purchase_order_lines"."unit_cost_cents" > 0)
);
--> statement-breakpoint
CREATE TABLE "purchase_order_receipts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"purchase_order_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"lines" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "purchase_orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"supplier_id" uuid NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"expected_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"received_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "purchase_orders_status_check" CHECK ("purchase_orders"."status" in ('draft', 'sent', 'partially_received', 'received', 'closed', 'cancelled')),
	CONSTRAINT "purchase_orders_sent_has_date" CHECK ("purchase_orders"."status" in ('draft', 'cancelled') or "purchase_orders"."sent_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "reorder_suggestions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"product_id" uuid NOT NULL,
	"supplier_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	"projected_stockout_date" date,
	"reason" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"purchase_order_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reorder_suggestions_quantity_positive" CHECK ("reorder_suggestions"."quantity" > 0),
	CONSTRAINT "reorder_suggestions_status_check" CHECK ("reorder_suggestions"."status" in ('open', 'accepted', 'dismissed'))
);
--> statement-breakpoint
CREATE TABLE "supplier_offers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"supplier_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"unit_cost_cents" bigint NOT NULL,
	"min_order_quantity" integer DEFAULT 1 NOT NULL,
	"pack_size" integer DEFAULT 1 NOT NULL,
	"lead_time_days" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "supplier_offers_cost_positive" CHECK ("supplier_offers"."unit_cost_cents" > 0),
	CONSTRAINT "supplier_offers_moq_positive" CHECK ("supplier_offers"."min_order_quantity" >= 1),
	CONSTRAINT "supplier_offers_pack_positive" CHECK ("supplier_offers"."pack_size" >= 1),
	CONSTRAINT "supplier_offers_lead_time_range" CHECK ("supplier_offers"."lead_time_days" is null or "supplier_offers"."lead_time_days" between 0 and 365)
);
--> statement-breakpoint
CREATE TABLE "suppliers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"contact_email" text NOT NULL,
	"lead_time_days" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "suppliers_lead_time_range" CHECK ("suppliers"."lead_time_days" between 0 and 365)
);
--> statement-breakpoint
ALTER TABLE "product_forecasts" ADD CONSTRAINT "product_forecasts_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchase_order_lines" ADD CONSTRAINT "purchase_order_lines_purchase_order_id_purchase_orders_id_fk" FOREIGN KEY ("purchase_order_id") REFERENCES "public"."purchase_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchase_order_lines" ADD CONSTRAINT "purchase_order_lines_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchase_order_receipts" ADD CONSTRAINT "purchase_order_receipts_purchase_order_id_purchase_orders_id_fk" FOREIGN KEY ("purchase_order_id") REFERENCES "public"."purchase_orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchase_orders" ADD CONSTRAINT "purchase_orders_supplier_id_suppliers_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."suppliers"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reorder_suggestions" ADD CONSTRAINT "reorder_suggestions_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reorder_suggestions" ADD CONSTRAINT "reorder_suggestions_supplier_id_suppliers_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."suppliers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reorder_suggestions" ADD CONSTRAINT "reorder_suggestions_purchase_order_id_purchase_orders_id_fk" FOREIGN KEY ("purchase_order_id") REFERENCES "public"."purchase_orders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_offers" ADD CONSTRAINT "supplier_offers_supplier_id_suppliers_id_fk" FOREIGN KEY ("supplier_id") REFERENCES "public"."suppliers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "supplier_offers" ADD CONSTRAINT "supplier_offers_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "planning_alerts_open_key" ON "planning_alerts" USING btree ("kind","subject_id") WHERE "planning_alerts"."resolved_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "purchase_order_lines_po_product_key" ON "purchase_order_lines" USING btree ("purchase_order_id","product_id");--> statement-breakpoint
CREATE INDEX "purchase_order_lines_product_idx" ON "purchase_order_lines" USING btree ("product_id");--> statement-breakpoint
CREATE UNIQUE INDEX "purchase_order_receipts_key" ON "purchase_order_receipts" USING btree ("purchase_order_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "purchase_orders_supplier_idx" ON "purchase_orders" USING btree ("supplier_id","id");--> statement-breakpoint
CREATE INDEX "purchase_orders_open_expected_idx" ON "purchase_orders" USING btree ("expected_at") WHERE "purchase_orders"."status" in ('sent', 'partially_received');--> statement-breakpoint
CREATE UNIQUE INDEX "reorder_suggestions_open_product_key" ON "reorder_suggestions" USING btree ("product_id") WHERE "reorder_suggestions"."status" = 'open';--> statement-breakpoint
CREATE UNIQUE INDEX "supplier_offers_supplier_product_key" ON "supplier_offers" USING btree ("supplier_id","product_id");--> statement-breakpoint
CREATE INDEX "supplier_offers_product_idx" ON "supplier_offers" USING btree ("product_id");