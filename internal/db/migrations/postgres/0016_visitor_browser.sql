-- The shopper's browser and operating system, named from the User-Agent
-- header of the widget's requests, for the agent's visitor panel.
ALTER TABLE visitors ADD COLUMN browser TEXT NOT NULL DEFAULT '';
ALTER TABLE visitors ADD COLUMN os TEXT NOT NULL DEFAULT '';
