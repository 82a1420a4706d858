CREATE TABLE "ml_model_config" (
	"name" text PRIMARY KEY NOT NULL,
	"params" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"window_days" integer DEFAULT 365 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ml_model_config_name_check" CHECK ("ml_model_config"."name" in ('als', 'content', 'segment', 'blend')),
	CONSTRAINT "ml_model_config_window_check" CHECK ("ml_model_config"."window_days" > 0)
);
--> statement-breakpoint
CREATE TABLE "ml_models" (
	"name" text NOT NULL,
	"version" integer NOT NULL,
	"status" text DEFAULT 'inactive' NOT NULL,
	"params" jsonb NOT NULL,
	"metrics" jsonb NOT NULL,
	"trained_at" timestamp with time zone DEFAULT now() NOT NULL,
	"training_ms" integer NOT NULL,
	"window_from" timestamp with time zone,
	"window_to" timestamp with time zone,
	"checksum" text NOT NULL,
	"artefact" "bytea" NOT NULL,
	"size_bytes" integer NOT NULL,
	"activated_at" timestamp with time zone,
	CONSTRAINT "ml_models_name_version_pk" PRIMARY KEY("name","version"),
	CONSTRAINT "ml_models_name_check" CHECK ("ml_models"."name" in ('als', 'content', 'segment', 'blend')),
	CONSTRAINT "ml_models_status_check" CHECK ("ml_models"."status" in ('active', 'inactive', 'failed')),
	CONSTRAINT "ml_models_version_check" CHECK ("ml_models"."version" > 0)
);
--> statement-breakpoint
CREATE TABLE "ml_training_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"trigger" text NOT NULL,
	"requested_by" uuid,
	"version" integer,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "ml_training_runs_name_check" CHECK ("ml_training_runs"."name" in ('als', 'content', 'segment', 'blend')),
	CONSTRAINT "ml_training_runs_status_check" CHECK ("ml_training_runs"."status" in ('queued', 'running', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "recommendation_events" (
	"recommendation_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"type" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "recommendation_events_recommendation_id_product_id_type_pk" PRIMARY KEY("recommendation_id","product_id","type"),
	CONSTRAINT "recommendation_events_type_check" CHECK ("recommendation_events"."type" in ('impression', 'click', 'add_to_cart', 'purchase'))
);
--> statement-breakpoint
CREATE TABLE "recommendation_lists" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"strategy" text NOT NULL,
	"arm" text DEFAULT '' NOT NULL,
	"product_ids" uuid[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_segments" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"segment" smallint NOT NULL,
	"model_version" integer NOT NULL,
	"recency_days" double precision NOT NULL,
	"orders" integer NOT NULL,
	"monetary_cents" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_segments_segment_check" CHECK ("user_segments"."segment" >= 0)
);
--> statement-breakpoint
ALTER TABLE "ml_training_runs" ADD CONSTRAINT "ml_training_runs_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recommendation_events" ADD CONSTRAINT "recommendation_events_recommendation_id_recommendation_lists_id_fk" FOREIGN KEY ("recommendation_id") REFERENCES "public"."recommendation_lists"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_segments" ADD CONSTRAINT "user_segments_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ml_models_one_active_idx" ON "ml_models" USING btree ("name") WHERE "ml_models"."status" = 'active';--> statement-breakpoint
CREATE INDEX "ml_training_runs_name_idx" ON "ml_training_runs" USING btree ("name","created_at");--> statement-breakpoint
CREATE INDEX "recommendation_events_created_idx" ON "recommendation_events" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "recommendation_lists_created_idx" ON "recommendation_lists" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "recommendation_lists_user_idx" ON "recommendation_lists" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "user_segments_segment_idx" ON "user_segments" USING btree ("model_version","segment");--> statement-breakpoint
-- Default training parameters (ml_model_config is what the next training reads).
INSERT INTO "ml_model_config" ("name", "params", "window_days") VALUES
  ('als', '{"factors":32,"iterations":12,"regularization":0.05,"alpha":20,"cgSteps":3,"weights":{"purchase":1,"pending":0.4,"add_to_cart":0.3,"click":0.15}}', 365),
  ('content', '{"neighbours":30,"maxDfRatio":0.1,"nameWeight":3,"categoryWeight":2}', 3650),
  ('segment', '{"kMin":2,"kMax":8,"silhouetteSample":2000,"bestSellers":100}', 365),
  ('blend', '{"candidates":50,"negativesPerPositive":8,"numSteps":300,"learningRate":1,"maxUsers":2000}', 365)
ON CONFLICT DO NOTHING;
