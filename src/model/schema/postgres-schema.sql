-- AutoCognitix PostgreSQL data model (after the original's SQLAlchemy models and Alembic 001-019).
-- Idempotent: every statement may run again on a database that already has the schema.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

DO $$ BEGIN
  CREATE TYPE reminder_kind AS ENUM ('mueszaki_vizsga', 'kotelezo_biztositas', 'olajcsere', 'gumicsere');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

CREATE TABLE IF NOT EXISTS vehicle_makes (
  id            varchar(50) PRIMARY KEY,
  name          varchar(100) NOT NULL,
  country       varchar(50),
  logo_url      text,
  nhtsa_make_id integer
);

CREATE TABLE IF NOT EXISTS vehicle_platforms (
  id           serial PRIMARY KEY,
  code         varchar(50) NOT NULL UNIQUE,
  name         varchar(100) NOT NULL,
  manufacturer varchar(100),
  segment      varchar(20),
  year_start   integer,
  year_end     integer,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vehicle_models (
  id           varchar(50) PRIMARY KEY,
  name         varchar(100) NOT NULL,
  make_id      varchar(50) NOT NULL REFERENCES vehicle_makes (id),
  platform_id  integer REFERENCES vehicle_platforms (id),
  year_start   integer NOT NULL,
  year_end     integer,
  body_types   text[] DEFAULT '{}',
  engine_codes text[] DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS ix_vehicle_models_make_id ON vehicle_models (make_id);

CREATE TABLE IF NOT EXISTS vehicle_engines (
  id              serial PRIMARY KEY,
  code            varchar(50) NOT NULL UNIQUE,
  name            varchar(100),
  manufacturer    varchar(100),
  fuel_type       varchar(20) NOT NULL,
  displacement_cc integer,
  power_kw        integer,
  torque_nm       integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dtc_codes (
  id                serial PRIMARY KEY,
  code              varchar(10) NOT NULL,
  description_en    text NOT NULL,
  description_hu    text,
  category          varchar(20) NOT NULL,
  severity          varchar(20) NOT NULL,
  is_generic        boolean NOT NULL,
  system            varchar(100),
  symptoms          text[] DEFAULT '{}',
  possible_causes   text[] DEFAULT '{}',
  diagnostic_steps  text[] DEFAULT '{}',
  related_codes     text[] DEFAULT '{}',
  manufacturer_code varchar(50),
  applicable_makes  text[],
  sources           text[],
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT uq_dtc_codes_code UNIQUE (code)
);
CREATE INDEX IF NOT EXISTS ix_dtc_codes_category_severity ON dtc_codes (category, severity);
CREATE INDEX IF NOT EXISTS ix_dtc_codes_applicable_makes ON dtc_codes USING gin (applicable_makes);
CREATE INDEX IF NOT EXISTS ix_dtc_codes_related_codes ON dtc_codes USING gin (related_codes);
CREATE INDEX IF NOT EXISTS ix_dtc_codes_fts ON dtc_codes
  USING gin (to_tsvector('simple', coalesce(description_en, '') || ' ' || coalesce(description_hu, '')));
CREATE INDEX IF NOT EXISTS ix_dtc_codes_description_trgm ON dtc_codes USING gin (description_en gin_trgm_ops);

CREATE TABLE IF NOT EXISTS users (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email               varchar(255) NOT NULL UNIQUE,
  hashed_password     varchar(255) NOT NULL,
  full_name           varchar(100),
  role                varchar(20) NOT NULL DEFAULT 'user',
  is_active           boolean NOT NULL DEFAULT true,
  email_verified      boolean NOT NULL DEFAULT false,
  verification_token  varchar(255),
  reset_token         varchar(255),
  reset_token_expires timestamptz,
  totp_secret         bytea,
  last_login_ip       inet,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS user_vehicles (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  make_id       varchar(50) REFERENCES vehicle_makes (id),
  model_id      varchar(50) REFERENCES vehicle_models (id),
  year          integer,
  vin           varchar(17),
  license_plate varchar(20),
  nickname      varchar(100),
  mileage_km    integer,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_user_vehicles_user_id ON user_vehicles (user_id);

CREATE TABLE IF NOT EXISTS maintenance_reminders (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_vehicle_id uuid NOT NULL REFERENCES user_vehicles (id) ON DELETE CASCADE,
  kind            reminder_kind NOT NULL,
  due_date        date,
  due_mileage_km  integer,
  note            text,
  is_done         boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS diagnosis_sessions (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id            uuid REFERENCES users (id) ON DELETE SET NULL,
  vehicle_make       varchar(100) NOT NULL,
  vehicle_model      varchar(100) NOT NULL,
  vehicle_year       integer NOT NULL,
  vehicle_vin        varchar(17),
  dtc_codes          text[] NOT NULL DEFAULT '{}',
  symptoms_text      text NOT NULL,
  additional_context text,
  diagnosis_result   jsonb NOT NULL,
  confidence_score   double precision NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  is_deleted         boolean NOT NULL DEFAULT false,
  deleted_at         timestamptz
);
CREATE INDEX IF NOT EXISTS ix_diagnosis_sessions_user_created ON diagnosis_sessions (user_id, created_at);
CREATE INDEX IF NOT EXISTS ix_diagnosis_sessions_dtc_codes ON diagnosis_sessions USING gin (dtc_codes);
CREATE INDEX IF NOT EXISTS ix_diagnosis_sessions_active ON diagnosis_sessions (created_at) WHERE NOT is_deleted;

CREATE TABLE IF NOT EXISTS diagnosis_archive (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  original_session_id uuid NOT NULL,
  user_id             uuid REFERENCES users (id) ON DELETE CASCADE,
  session_data        jsonb NOT NULL,
  dtc_codes           jsonb,
  vehicle_info        jsonb,
  original_created_at timestamptz NOT NULL,
  archived_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vehicle_dtc_frequency (
  id               serial PRIMARY KEY,
  dtc_code         varchar(10) NOT NULL REFERENCES dtc_codes (code),
  make_id          varchar(50) NOT NULL REFERENCES vehicle_makes (id),
  model_id         varchar(50) REFERENCES vehicle_models (id),
  engine_code      varchar(50) REFERENCES vehicle_engines (code),
  year_start       integer,
  year_end         integer,
  occurrence_count integer NOT NULL DEFAULT 0,
  frequency        varchar(20),
  source           varchar(50),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_vehicle_dtc_frequency_dtc ON vehicle_dtc_frequency (dtc_code);

CREATE TABLE IF NOT EXISTS known_issues (
  id                 serial PRIMARY KEY,
  title              varchar(255) NOT NULL,
  description        text NOT NULL,
  symptoms           text[] DEFAULT '{}',
  causes             text[] DEFAULT '{}',
  solutions          text[] DEFAULT '{}',
  related_dtc_codes  text[] DEFAULT '{}',
  applicable_makes   text[] DEFAULT '{}',
  applicable_models  text[] DEFAULT '{}',
  year_start         integer,
  year_end           integer,
  confidence         double precision,
  estimated_cost_huf numeric(12, 2),
  source_type        varchar(50),
  source_url         text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_known_issues_related_dtc ON known_issues USING gin (related_dtc_codes);

CREATE TABLE IF NOT EXISTS vehicle_recalls (
  id                  serial PRIMARY KEY,
  campaign_number     varchar(20) NOT NULL UNIQUE,
  manufacturer        varchar(255),
  make                varchar(100) NOT NULL,
  model               varchar(100) NOT NULL,
  model_year          integer NOT NULL,
  recall_date         date,
  component           text,
  summary             text,
  consequence         text,
  remedy              text,
  extracted_dtc_codes text[] DEFAULT '{}',
  raw_response        jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vehicle_complaints (
  id                  serial PRIMARY KEY,
  odi_number          bigint NOT NULL UNIQUE,
  make                varchar(100) NOT NULL,
  model               varchar(100) NOT NULL,
  model_year          integer NOT NULL,
  crash               boolean NOT NULL DEFAULT false,
  fire                boolean NOT NULL DEFAULT false,
  injuries            integer NOT NULL DEFAULT 0,
  deaths              integer NOT NULL DEFAULT 0,
  complaint_date      date,
  components          text,
  summary             text,
  extracted_dtc_codes text[] DEFAULT '{}',
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_vehicle_complaints_make_model ON vehicle_complaints (make, model, model_year);

CREATE TABLE IF NOT EXISTS epa_vehicles (
  id            integer PRIMARY KEY,
  make          varchar(100) NOT NULL,
  model         varchar(100) NOT NULL,
  year          integer NOT NULL,
  fuel_type     varchar(50),
  city_mpg      real,
  highway_mpg   real,
  co2_g_per_km  real,
  created_at    timestamptz NOT NULL DEFAULT now()
);
