-- retort:parents 20240101100000_create_users_table
-- retort:message add email
--
-- Revision 20240101110000_add_email, created 2024-01-01T11:00:00Z.
-- Add "-- retort:no-transaction" above to run it outside a transaction
-- (CREATE INDEX CONCURRENTLY); remove the down section to make it
-- irreversible.

-- retort:up


-- retort:down

