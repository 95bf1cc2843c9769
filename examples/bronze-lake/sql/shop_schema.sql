-- The example shop database the bronze pipeline reads (customers, products,
-- orders). Portable between SQLite and PostgreSQL; run by seed.yaml's
-- `schema` step on every seed run, hence IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS customers (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    country TEXT,
    created_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS products (
    id BIGINT PRIMARY KEY,
    sku TEXT NOT NULL,
    name TEXT,
    category TEXT,
    price DOUBLE PRECISION,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    quantity BIGINT,
    amount DOUBLE PRECISION,
    status TEXT,
    order_date DATE,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX IF NOT EXISTS customers_updated_at ON customers (updated_at);
CREATE INDEX IF NOT EXISTS products_updated_at ON products (updated_at);
CREATE INDEX IF NOT EXISTS orders_updated_at ON orders (updated_at);
