CREATE TABLE "sale_pool_buyers" (
	"sale_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"units" integer NOT NULL,
	"max_units" integer NOT NULL,
	CONSTRAINT "sale_pool_buyers_sale_id_user_id_pk" PRIMARY KEY("sale_id","user_id"),
	CONSTRAINT "sale_pool_buyers_limit" CHECK ("sale_pool_buyers"."units" >= 0 and "sale_pool_buyers"."units" <= "sale_pool_buyers"."max_units")
);
--> statement-breakpoint
CREATE TABLE "sale_pool_orders" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"sale_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"quantity" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sale_pool_orders_quantity_positive" CHECK ("sale_pool_orders"."quantity" > 0)
);
--> statement-breakpoint
CREATE TABLE "sale_pools" (
	"sale_id" uuid PRIMARY KEY NOT NULL,
	"product_id" uuid NOT NULL,
	"units" integer NOT NULL,
	"held" integer DEFAULT 0 NOT NULL,
	"sold" integer DEFAULT 0 NOT NULL,
	"returned" integer DEFAULT 0 NOT NULL,
	"opens_at" timestamp (3) with time zone NOT NULL,
	"closes_at" timestamp (3) with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "sale_pools_counts_nonnegative" CHECK ("sale_pools"."units" >= 0 and "sale_pools"."held" >= 0 and "sale_pools"."sold" >= 0 and "sale_pools"."returned" >= 0),
	CONSTRAINT "sale_pools_no_oversell" CHECK ("sale_pools"."held" + "sale_pools"."sold" + "sale_pools"."returned" <= "sale_pools"."units")
);
--> statement-breakpoint
CREATE TABLE "sales" (
	"id" uuid PRIMARY KEY NOT NULL,
	"product_id" uuid NOT NULL,
	"sale_price_cents" bigint NOT NULL,
	"starts_at" timestamp (3) with time zone NOT NULL,
	"ends_at" timestamp (3) with time zone NOT NULL,
	"per_customer_limit" integer NOT NULL,
	"state" text DEFAULT 'scheduled' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sales_window" CHECK ("sales"."ends_at" > "sales"."starts_at"),
	CONSTRAINT "sales_price_nonnegative" CHECK ("sales"."sale_price_cents" >= 0),
	CONSTRAINT "sales_limit_positive" CHECK ("sales"."per_customer_limit" >= 1),
	CONSTRAINT "sales_state_check" CHECK ("sales"."state" in ('scheduled', 'cancelled'))
);
--> statement-breakpoint
ALTER TABLE "inventory_movements" DROP CONSTRAINT "inventory_movements_kind_check";--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "sale_id" uuid;--> statement-breakpoint
ALTER TABLE "sale_pool_buyers" ADD CONSTRAINT "sale_pool_buyers_sale_id_sale_pools_sale_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sale_pools"("sale_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_pool_buyers" ADD CONSTRAINT "sale_pool_buyers_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_pool_orders" ADD CONSTRAINT "sale_pool_orders_sale_id_sale_pools_sale_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sale_pools"("sale_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sale_pools" ADD CONSTRAINT "sale_pools_sale_id_sales_id_fk" FOREIGN KEY ("sale_id") REFERENCES "public"."sales"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sales" ADD CONSTRAINT "sales_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sale_pool_orders_sale_idx" ON "sale_pool_orders" USING btree ("sale_id");--> statement-breakpoint
CREATE INDEX "sale_pools_open_idx" ON "sale_pools" USING btree ("closes_at") WHERE "sale_pools"."closed_at" is null;--> statement-breakpoint
CREATE INDEX "sales_ends_idx" ON "sales" USING btree ("ends_at");--> statement-breakpoint
CREATE INDEX "sales_product_idx" ON "sales" USING btree ("product_id");--> statement-breakpoint
ALTER TABLE "inventory_movements" ADD CONSTRAINT "inventory_movements_kind_check" CHECK ("inventory_movements"."kind" in ('restock', 'reserve', 'release', 'expire', 'commit', 'adjust', 'pool'));