-- The weekly report archive (see migrations/0006_reports.sql).
CREATE TABLE reports (
    week             TEXT    PRIMARY KEY,
    html             BYTEA   NOT NULL,
    pdf              BYTEA   NOT NULL,
    html_sha256      TEXT    NOT NULL,
    pdf_sha256       TEXT    NOT NULL,
    published_seq    BIGINT  NOT NULL,
    generated_at_ms  BIGINT  NOT NULL
);
