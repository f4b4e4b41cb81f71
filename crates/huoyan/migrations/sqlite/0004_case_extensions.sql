-- A department's pending request to move its deadline (延期), until the group grants or refuses it.
ALTER TABLE cases ADD COLUMN extension_until BIGINT;
