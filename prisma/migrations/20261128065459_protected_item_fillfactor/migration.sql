-- The scheduler moves every protected item's next backup times each tick and each commit writes its last-backup
-- columns: none of them is indexed, so with free room on each page PostgreSQL updates the row in place (a HOT update)
-- instead of writing a new version into every index. (Prisma's schema cannot say this; db:diff ignores it.)
ALTER TABLE "ProtectedItem" SET (fillfactor = 70);
