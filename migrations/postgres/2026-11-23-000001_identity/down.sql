DROP TABLE users;
DROP TABLE clients;
