-- CreateTable
CREATE TABLE "EmulatorClock" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "offsetMs" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "EmulatorClock_pkey" PRIMARY KEY ("id")
);
