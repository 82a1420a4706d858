CREATE TABLE "search_clicks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"search_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_clicks_position_check" CHECK ("search_clicks"."position" between 1 and 1000)
);
--> statement-breakpoint
CREATE TABLE "search_index_versions" (
	"version" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "search_index_versions_version_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"provider" text NOT NULL,
	"dims" integer NOT NULL,
	"doc_count" integer NOT NULL,
	"checksum" text NOT NULL,
	"model" "bytea" NOT NULL,
	"ids" "bytea" NOT NULL,
	"vectors" "bytea" NOT NULL,
	"ann" "bytea",
	"build_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_index_versions_dims_check" CHECK ("search_index_versions"."dims" between 1 and 4096),
	CONSTRAINT "search_index_versions_doc_count_check" CHECK ("search_index_versions"."doc_count" >= 0),
	CONSTRAINT "search_index_versions_provider_check" CHECK ("search_index_versions"."provider" in ('svd', 'onnx'))
);
--> statement-breakpoint
CREATE TABLE "search_rules" (
	"id" uuid PRIMARY KEY NOT NULL,
	"query" text,
	"product_id" uuid NOT NULL,
	"action" text NOT NULL,
	"position" integer,
	"weight" real,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "search_rules_action_check" CHECK ("search_rules"."action" in ('pin', 'boost', 'demote')),
	CONSTRAINT "search_rules_shape_check" CHECK (("search_rules"."action" = 'pin' and "search_rules"."position" between 1 and 100 and "search_rules"."weight" is null)
        or ("search_rules"."action" <> 'pin' and "search_rules"."position" is null and "search_rules"."weight" > 0 and "search_rules"."weight" <= 10))
);
--> statement-breakpoint
ALTER TABLE "search_queries" ADD COLUMN "mode" text;--> statement-breakpoint
ALTER TABLE "search_queries" ADD COLUMN "requested_mode" text;--> statement-breakpoint
ALTER TABLE "search_queries" ADD COLUMN "latency_ms" double precision;--> statement-breakpoint
ALTER TABLE "search_queries" ADD COLUMN "degraded" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "search_clicks" ADD CONSTRAINT "search_clicks_search_id_search_queries_id_fk" FOREIGN KEY ("search_id") REFERENCES "public"."search_queries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_clicks" ADD CONSTRAINT "search_clicks_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "search_rules" ADD CONSTRAINT "search_rules_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "search_clicks_search_idx" ON "search_clicks" USING btree ("search_id");--> statement-breakpoint
CREATE UNIQUE INDEX "search_rules_query_product_key" ON "search_rules" USING btree (coalesce("query", ''),"product_id");--> statement-breakpoint
CREATE INDEX "search_rules_query_idx" ON "search_rules" USING btree ("query");--> statement-breakpoint
CREATE INDEX "search_queries_created_idx" ON "search_queries" USING btree ("created_at");