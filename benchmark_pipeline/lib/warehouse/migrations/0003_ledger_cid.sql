-- Version 3: the IPFS CID (kubo-v1: CIDv1, raw leaves, 256 KiB chunks) of each ledgered file
-- version, so a result file can be fetched or checked by content from any IPFS node. NULL until
-- computed (rows ledgered before version 3, or files no longer readable with the ledgered bytes).
ALTER TABLE ingestion_ledger ADD COLUMN cid VARCHAR;
