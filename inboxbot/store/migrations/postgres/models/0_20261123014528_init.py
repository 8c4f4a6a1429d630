from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "dead_letter" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "account" VARCHAR(200) NOT NULL,
    "folder" VARCHAR(500) NOT NULL,
    "uidvalidity" BIGINT NOT NULL,
    "uid" BIGINT NOT NULL,
    "raw_bytes" BYTEA NOT NULL,
    "internaldate" TIMESTAMPTZ,
    "stage" VARCHAR(32) NOT NULL,
    "error" TEXT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "dead_letter" IS 'A message some stage could not handle, kept whole so it can be replayed after a fix.';
CREATE TABLE IF NOT EXISTS "mailbox_cursor" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "account" VARCHAR(200) NOT NULL,
    "folder" VARCHAR(500) NOT NULL,
    "uidvalidity" BIGINT NOT NULL,
    "last_uid" BIGINT NOT NULL,
    "last_success_at" TIMESTAMPTZ,
    "last_error" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_mailbox_cur_account_a1e38b" UNIQUE ("account", "folder")
);
COMMENT ON TABLE "mailbox_cursor" IS 'How far a folder has been processed. One row per (account, folder).';
CREATE TABLE IF NOT EXISTS "suppression" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "address_hash" VARCHAR(64) NOT NULL,
    "address" VARCHAR(320),
    "scope" VARCHAR(100) NOT NULL,
    "source" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_suppression_address_b11a9f" UNIQUE ("address_hash", "scope")
);
CREATE INDEX IF NOT EXISTS "idx_suppression_address_bb27e2" ON "suppression" ("address_hash");
COMMENT ON TABLE "suppression" IS 'An address that must get no marketing. The hash outlives the address (after erasure).';
CREATE TABLE IF NOT EXISTS "suppression_log" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "actor" VARCHAR(100) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "address_hash" VARCHAR(64) NOT NULL,
    "scope" VARCHAR(100) NOT NULL,
    "detail" TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_suppression_address_f22632" ON "suppression_log" ("address_hash");
COMMENT ON TABLE "suppression_log" IS 'Who changed the suppression list, when and why. Holds the hash, never the address.';
CREATE TABLE IF NOT EXISTS "suppression_push" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "event_id" VARCHAR(64) NOT NULL,
    "target" VARCHAR(100) NOT NULL,
    "action" VARCHAR(16) NOT NULL,
    "address" VARCHAR(320),
    "address_hash" VARCHAR(64) NOT NULL,
    "scope" VARCHAR(100) NOT NULL,
    "event_at" TIMESTAMPTZ NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ NOT NULL,
    "last_error" TEXT NOT NULL,
    "sent_at" TIMESTAMPTZ,
    CONSTRAINT "uid_suppression_event_i_00fe48" UNIQUE ("event_id", "target")
);
CREATE INDEX IF NOT EXISTS "idx_suppression_target_c2bad3" ON "suppression_push" ("target");
CREATE INDEX IF NOT EXISTS "idx_suppression_address_e2350d" ON "suppression_push" ("address_hash");
CREATE INDEX IF NOT EXISTS "idx_suppression_status_79c06e" ON "suppression_push" ("status");
COMMENT ON TABLE "suppression_push" IS 'One suppression event on its way to one marketing system: the persistent push outbox.';
CREATE TABLE IF NOT EXISTS "ticket" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "reference" VARCHAR(40) UNIQUE,
    "sender" VARCHAR(320) NOT NULL,
    "sender_name" VARCHAR(200) NOT NULL,
    "language" VARCHAR(8) NOT NULL,
    "intents" JSONB NOT NULL,
    "status" VARCHAR(24) NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "due_date" DATE NOT NULL,
    "due_rule" TEXT NOT NULL,
    "subject" VARCHAR(500) NOT NULL,
    "summary" VARCHAR(300) NOT NULL,
    "needs_review" BOOL NOT NULL,
    "breach" BOOL NOT NULL,
    "identity_verified" BOOL NOT NULL,
    "extended" BOOL NOT NULL,
    "status_reason" TEXT NOT NULL,
    "closed_at" TIMESTAMPTZ,
    "anonymised_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "duplicate_of_id" INT REFERENCES "ticket" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_ticket_status_f3afba" ON "ticket" ("status");
CREATE TABLE IF NOT EXISTS "outbox" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "dedupe_key" VARCHAR(300) NOT NULL UNIQUE,
    "purpose" VARCHAR(32) NOT NULL,
    "recipient" VARCHAR(320) NOT NULL,
    "message_id" VARCHAR(300) NOT NULL,
    "payload" TEXT NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ NOT NULL,
    "last_error" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "ticket_id" INT REFERENCES "ticket" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_outbox_message_d7eb20" ON "outbox" ("message_id");
CREATE INDEX IF NOT EXISTS "idx_outbox_status_9c8966" ON "outbox" ("status");
CREATE INDEX IF NOT EXISTS "idx_outbox_created_5f1170" ON "outbox" ("created_at");
COMMENT ON TABLE "outbox" IS 'A message to send, fully rendered. `dedupe_key` makes each purpose happen once.';
CREATE TABLE IF NOT EXISTS "processed_message" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "message_id" VARCHAR(998) NOT NULL UNIQUE,
    "account" VARCHAR(200) NOT NULL,
    "folder" VARCHAR(500) NOT NULL,
    "uidvalidity" BIGINT NOT NULL,
    "uid" BIGINT NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL,
    "sender" VARCHAR(320) NOT NULL,
    "subject" VARCHAR(500) NOT NULL,
    "body" TEXT NOT NULL,
    "language" VARCHAR(8) NOT NULL,
    "label" VARCHAR(32) NOT NULL,
    "intents" JSONB NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL,
    "automated" BOOL NOT NULL,
    "needs_review" BOOL NOT NULL,
    "outcome" VARCHAR(32) NOT NULL,
    "reasons" JSONB NOT NULL,
    "ack_withheld" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "ticket_id" INT REFERENCES "ticket" ("id") ON DELETE SET NULL
);
COMMENT ON TABLE "processed_message" IS 'One inbound message and what was decided for it. Message-ID is unique: the same mail';
CREATE TABLE IF NOT EXISTS "ticket_event" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "actor" VARCHAR(100) NOT NULL,
    "kind" VARCHAR(40) NOT NULL,
    "detail" TEXT NOT NULL,
    "ticket_id" INT NOT NULL REFERENCES "ticket" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "ticket_event" IS 'Every change to a ticket: who, when, why. Nothing about a ticket changes silently.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXWtz4ygW/SuUP6WrMqmOk/Rjdmtr8urp7CRxV+LenkdPqbGEbTYSaADFcc3mvy/oYb"
    "0Vye2HrOJLygEuoAOCew+Xq797DrWQzQ8uELSukRCI9X4Ef/cIdJD8UZC7D3rQdeM8lSDg"
    "yPaLW7KcYccFR1wwaAqZNYY2R/uqBDcZdgWmRAmcAgdxDicIcOrIP0L9NKlnW4BQAaaQWL"
    "YUe0CuALMptVU5gAUwIQEjBBhybThHFoBj2SSAYIyfDlTLFjVl05hM1tmIR/BfHjIEnSAx"
    "9YH740+ZjImFnhCP/nUfjDFGtpXCFVuqAj/dEHPXT7si4oNfUPV/ZJjU9hwSF3bnYkrJoj"
    "QmQqVOEEEMCqSqF8xTEBPPtsMBiVAPehoXCbqYkLHQGHq2GiglHXQgTusZxu1gaNxfDg2j"
    "lxvESCIBeZhkUqImgOwq959+orrwQ//w+O3xu6M3x+9kEb+bi5S3z0HTMTCBoA/P7bD37O"
    "dDAYMSPsYxqNCUgxrAkkb2fApZMbQJkQy+suNZfCM0qwCOEmKE45m/CYgd+CRfQDIRU4Xr"
    "69cVgP7n9O784+ndniz1SjVJ5asavMa3YVY/yFOoxyiPqW0Fr3ddkGOJDmJ8UgvjkwqMT/"
    "IYe9h6hDa2sJjngT7Dk9KlIiP48pqxKrxfr3fNeN/vHx297b8+evPu5Pjt25N3rxeLRz6r"
    "ahU5u/pZLSSpoYhWlhT+jXHXeC+PN4MzYzQXiBehTiCbF6OeEstgv0jfsdWlCsvrwZmq2e"
    "H8LztcXc6ubk/vftu7Of3VX1+ceZh1Pbj9OSrvUi4mzK+od/bb8PI0g75sGjECbbmxovwA"
    "XMhUgR1UoptkZDOjYIXCB9GPGiMSqiQ7MCDDq5vL++HpzafUqFycDi9VTj81IFHq3pvMRr"
    "CoBHy5Gn4E6l/w++D2Mjtyi3LD33uqT9AT1CB0ZkAriUmUHCWlRtpXfZts3QuBDu7cR/0a"
    "G/dRv3TfVlnpFwkxRgs0oyF6Ktk2FgKbg7fX28J7cvnrMPWKRCAWr1tR8QTo52ope87OZe"
    "EVbBiVkzmU2CDcBM3WhXh6Oh++qTGdD7OrTzydVVYaYZMhhYYBC0yq6l0hLbmCPaF1K4l8"
    "QGtA7Hm4X+3IJhFurbk9QvEU44eEUa0SRtB8mEFmGbkc2qdlZfNZTt/JpkAidxUrBFd1M6"
    "SZbiC2R/Tp3GOcFvJQ6QL7VVSUExQ1zLjsi2zURzqTWT7F45usYAo5GCFEgMuoiThH1gEY"
    "EASYLOjK/L2QP9gPBV7lyacV1VnANf2RIjwCG/tPTUBpAqo9KpYmoDQBpQmRJQgRG3JhNG"
    "ahklIa+e9Annum2pqX0HwLxDUl0mZKxB+wxoZ7Wkpb742td8+1lrQt05Latmzx2+b3viW2"
    "5cAT0hy8EsjpFRiWidz9KquS+uXqWZOx24GggCNiSYtO9mkOmPyNmLL7vlnI8lxkPKD5N+"
    "DAB8QBguYUuB6TyCNpK7qutBQpMVGVW8PK6tceDe0yKOPha2LupKVWszltF+Y0b1/L4Dmq"
    "MHiO8gZP+EY0gTkh0kGzcvWnIwyZ2MWoGT+SEuokzLUmc79iMvdzkzncF4yiNbkc6rTUur"
    "Du2roB5zaFBTiX2w4JkU5MaH3wVzCre1KvshRqG5naqz/7g0Lqwq4ogLlUqUuKdIZ9+k7V"
    "LgaUyPXACCFawuotEO+g6bu7pq4mllqyO+yW08ImtaEuvVxcWgRLDHFCTLPybR5fgc0HJA"
    "oNmFL9IyWzlALSsgFdhQqSY1+zGOcB/kAZwhPyCwq8rq9knyAxi3iOkDwdLiraLXyfoxkU"
    "pcZdVJ7lEceZnljy8eVDI+EDIHsAbj9fX/eet0Nqf4pciG4C271XQG3nyuxXEdwLpyTDSR"
    "R/ketWDkyYjKhHrAUrDeXv2RQKMIMcWMjEFrLAmDKAxQEIO/PD1QXAHAQzQqI/RYDL7gPl"
    "vZUjvNfRyFcCGcOPsgUgK3HlT2jOf/KrtVz6k5IL7gdamiVvK0veHrqrRSz5+/fvanACsl"
    "QpKeDnZVgB7eCmHdy0g5t2cNM3LHcMb4ZMhB+X4kUyopp2bLXlzH3nj0anIwuJDtCNGzhd"
    "5d7ov8hspAQlRDqH8Vq25xG1Cvblcto8Kt8BdDdNmNuQTLyG14KTMhuEXBr+m5nTdUyncs"
    "MpZzbJp0Z2M3xDgQ6q86t3LFIxCEjRUfW/7we3JdRKLJLVZ7ApwP+AjfnaNMveP8ceMRWK"
    "YORhW2DCD1R7/9rCkqIgql5SsqtHRmdRFeTO4CgZYwuFpHGGXbYpLFnE02KZcRkrubXp+g"
    "fr0vYroL8YfD67vgSf7i7Pr+6vwmFY6JJ+pkqSCThgm+8uT6+zhIxUBR0fjBzQZ5TaCJIS"
    "ViYpl42cIgXXBfQiZcORUwaD69QsP7vK7oyfb84u7/YOX6UhL/LjQBY3GHrEwcX+BqBnRT"
    "XuDXCnnjCp00hLSYjofbSWgy7kssUm+2hCRO+jK99HoflgzLCYTkPo63PuabkOWEUboN13"
    "y3NosyvPbl5JKwt3oj1NtKeJ9jRp5Gly77mufOl48OA5J5Nk9n6VfwnPFHz5FiUB8mVWIk"
    "AoPw/H4wJMkACEAgcyCZcE/gAMp+o2I58CqfTZ+BFx380jktwLQjfLGcM9hgqi9KytleK4"
    "PYGAoary9V6TymmuY/dsNXZPZkxq61oZue7dm3pzXEPXenNcqmqprIxeG2C2BMxLI9yyDW"
    "ETx1T+otIA4oXABs0FaNubsRgOa1kMhxUWw2HeYuDUY0UcZwXGCwltk2mbTNtkrQtBmVBk"
    "r+nkBVVXlair7Rp2WPhFjffLlAJzConsX+CrHFfi02n7YDZFJPR8nh+Aj1Q+mF9S6SD7gK"
    "BHqYUmFNO8urueJrRfdMtU2saLZmcXyx1ZHGt5eMnFo+hOaRUdLDZ+nVTd03gaUbHD2t0D"
    "Jo1Y96h8B8+a1hBfYNfM7Q1p0as3tnfCDtzhZcJCIrysVtdZMZboAMKbcFdsn23wyePTXr"
    "Vx4BepbR24UelaVy2T+rpUxYkA8gcWHMzgXEUDpATFtDXgcy6QE1x8dBHjUsFXIqpJEAQ0"
    "zFsIa2nlK/lKvjAsZAbAJL6IKZ+YcBic5MPAzkgAqSLj76tPMkJgMkW+m5Co7zbaCD5KA+"
    "QrSfbTZ+8D84SpUIeIJ/n7b3v+cxjY2gcCMmmnvPqWvBoKowedUMXtU1V7UM6//fkPae5A"
    "V8iHA5AhgC3kuFQ9Zdg9hgSbR5+JJLJWOY8hkwOJbU+VV3dJmWMre+kruaMz7t9UVTCGja"
    "ha5TTBjyp8o4KIMsv/JICqLHrM8PGo/CP8kI5qSKLMilOH6NGDOaja00cOW7XPkgNSd3NO"
    "ynRQ0Vy9+hPO9AYQxxLdO8tZiwYUrNwNLdJQooNzeG3Gkj4vW+d52c5ZpDu8KO+ETbrbZ5"
    "OBotCcAk7KaSK41USwDoSqA6HqQKh6mWr5MqUDoW7lXrcOkdm916olRHjohl/Af8cO+uW0"
    "d3wb4EWyu3xgta9Ju7hMhsaIFd/4rvq4R0JoJTRFiwLwHdcx6o7LbbrjvLupDu2zbp9pHy"
    "/D/7cxzAuxzmG9FtdeHXcmD/SK487owCgtu9C9G4wNdRHZ0MJSh1nulzPL/RyzrOMcdtj8"
    "SbldSe1fDUXxKJc4XiVkqoa3W0OrhivrsyaBYJ5dAF6F11pCpgMazsbpGB01cu1RI7nnOJ"
    "A1+lZqQqRzGK/lg4c6/tV24l+NfHfGhojHQhrrBlirIIQCi7nxiBiWbTWNrlcor0egwQhI"
    "LURxKk2BT4ppvBvgHZiZRhDOrYlWmBPswC66adXQtClf7o57UlCf1rXZXIWEkrmDlxvnnL"
    "Ae6zaPtQ5aUTrMHQtakfqijWstOeppST3qbRn1gpc97H2SSXNtbMqhMOi4WRDJAkkdSvLF"
    "UJJJ1PJg64CSmYCSBZOscVjJVAzuEX0qsMlCuQ+/3CEbllztCREf+HVcCeR0B/XUihB+V7"
    "LglK8JTEVfbe0gWIv5+Z1wde09zl/lWAlAl6qmHVQgSmFav5djAFmpq+MC0Zf8HQ20KPni"
    "FX9ZKZuHAbr8W+ggqONHMJvSIDbXfhCY65aKqf/t4pFcmxflQlEOOLZlo/Y8f79/PU1or8"
    "x2eWXuWgSwhANQFEDqgAup1B2EL53hCVOp4tvwCGq5aVLAOelAYTpQ2K47PevwShs9i9jO"
    "5zBaN6m79j2MtgFcl78o/yDG+en9+enF5ba+h3GKGDYLQ4CFOZUmAYzL6CtQu/RSVynbjy"
    "roWbM4OAmRDioD/ZOTOu7dJyfl/t0qL3MfX75UTVTaoHgH0V2LKitbFCFNUffGSEJk8zdG"
    "tnMivbK7IVu9z/v8f7fUnLA="
)
