CREATE TABLE "alerts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"severity" text NOT NULL,
	"subject_id" text NOT NULL,
	"message" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone,
	CONSTRAINT "alerts_severity_check" CHECK ("alerts"."severity" in ('info', 'warning', 'critical'))
);
--> statement-breakpoint
CREATE TABLE "order_risk" (
	"order_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"ip" text,
	"amount_cents" bigint NOT NULL,
	"quantity" integer NOT NULL,
	"currency" text NOT NULL,
	"score" real NOT NULL,
	"reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'none' NOT NULL,
	"degraded" boolean DEFAULT false NOT NULL,
	"paid_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rescored_at" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"decided_by" text,
	CONSTRAINT "order_risk_score_range" CHECK ("order_risk"."score" >= 0 and "order_risk"."score" <= 1),
	CONSTRAINT "order_risk_status_check" CHECK ("order_risk"."status" in ('none', 'pending', 'approved', 'rejected')),
	CONSTRAINT "order_risk_decision_check" CHECK (("order_risk"."status" in ('approved', 'rejected')) = ("order_risk"."decided_at" is not null and "order_risk"."decided_by" is not null))
);
--> statement-breakpoint
CREATE TABLE "risk_payment_events" (
	"payment_id" uuid PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"ip" text,
	"method" text NOT NULL,
	"outcome" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "risk_payment_events_outcome_check" CHECK ("risk_payment_events"."outcome" in ('failed', 'succeeded'))
);
--> statement-breakpoint
CREATE TABLE "risk_rules" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"rules" jsonb NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text,
	CONSTRAINT "risk_rules_single_row" CHECK ("risk_rules"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_event_check";--> statement-breakpoint
ALTER TABLE "order_status_history" DROP CONSTRAINT "order_status_history_to_check";--> statement-breakpoint
ALTER TABLE "orders" DROP CONSTRAINT "orders_status_check";--> statement-breakpoint
DROP INDEX "orders_unpaid_expiry_idx";--> statement-breakpoint
ALTER TABLE "order_risk" ADD CONSTRAINT "order_risk_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_open_subject_key" ON "alerts" USING btree ("type","subject_id") WHERE "alerts"."resolved_at" is null;--> statement-breakpoint
CREATE INDEX "alerts_type_idx" ON "alerts" USING btree ("type","id");--> statement-breakpoint
CREATE INDEX "order_risk_user_idx" ON "order_risk" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "order_risk_ip_idx" ON "order_risk" USING btree ("ip","created_at") WHERE "order_risk"."ip" is not null;--> statement-breakpoint
CREATE INDEX "order_risk_review_idx" ON "order_risk" USING btree ("status","order_id") WHERE "order_risk"."status" <> 'none';--> statement-breakpoint
CREATE INDEX "risk_payment_events_user_idx" ON "risk_payment_events" USING btree ("user_id","at");--> statement-breakpoint
CREATE INDEX "risk_payment_events_ip_idx" ON "risk_payment_events" USING btree ("ip","at") WHERE "risk_payment_events"."ip" is not null;--> statement-breakpoint
CREATE INDEX "orders_unpaid_expiry_idx" ON "orders" USING btree ("reservation_expires_at") WHERE "orders"."status" in ('pending_payment', 'payment_failed', 'on_hold');--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_event_check" CHECK ("audit_log"."event" in ('register', 'login_success', 'login_failure', 'refresh_reuse_detected', 'role_change', 'admin_ensured', 'logout', 'user_delete', 'password_change', 'password_reset_request', 'password_reset', 'risk_rules_change', 'risk_review_approve', 'risk_review_reject'));--> statement-breakpoint
ALTER TABLE "order_status_history" ADD CONSTRAINT "order_status_history_to_check" CHECK ("order_status_history"."to_status" in ('pending_payment', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'expired', 'payment_failed', 'refunded', 'on_hold'));--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_status_check" CHECK ("orders"."status" in ('pending_payment', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'expired', 'payment_failed', 'refunded', 'on_hold'));