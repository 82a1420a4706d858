CREATE TABLE "product_neighbours" (
	"product_id" uuid NOT NULL,
	"neighbour_id" uuid NOT NULL,
	"score" double precision NOT NULL,
	"support" integer NOT NULL,
	"rank" smallint NOT NULL,
	CONSTRAINT "product_neighbours_product_id_neighbour_id_pk" PRIMARY KEY("product_id","neighbour_id"),
	CONSTRAINT "product_neighbours_not_self" CHECK ("product_neighbours"."product_id" <> "product_neighbours"."neighbour_id"),
	CONSTRAINT "product_neighbours_support_positive" CHECK ("product_neighbours"."support" > 0)
);
--> statement-breakpoint
CREATE TABLE "product_popularity" (
	"product_id" uuid PRIMARY KEY NOT NULL,
	"orders" integer NOT NULL,
	"rank" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "recommendation_applied_orders" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "product_neighbours_rank_idx" ON "product_neighbours" USING btree ("product_id","rank");--> statement-breakpoint
CREATE INDEX "product_popularity_rank_idx" ON "product_popularity" USING btree ("rank");