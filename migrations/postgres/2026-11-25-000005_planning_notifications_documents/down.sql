DROP TABLE scheduler_leases;
DROP TABLE documents;
DROP TABLE notification_outbox;
DROP TABLE notifications;
