-- The weekly report archive: the newest HTML and PDF of each ISO week, with their SHA-256 and
-- the seq of the `report_published` event that recorded those hashes in the chain (every
-- publication, older ones included, stays in the log).
CREATE TABLE reports (
    week             TEXT    PRIMARY KEY,
    html             BLOB    NOT NULL,
    pdf              BLOB    NOT NULL,
    html_sha256      TEXT    NOT NULL,
    pdf_sha256       TEXT    NOT NULL,
    published_seq    INTEGER NOT NULL,
    generated_at_ms  INTEGER NOT NULL
);
