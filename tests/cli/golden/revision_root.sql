-- retort:parents
-- retort:message Create users table!
--
-- Revision 20240101100000_create_users_table, created 2024-01-01T10:00:00Z.
-- Add "-- retort:no-transaction" above to run it outside a transaction
-- (CREATE INDEX CONCURRENTLY); remove the down section to make it
-- irreversible.

-- retort:up


-- retort:down

