-- Runs once, on an empty data volume (docker-entrypoint-initdb.d), as POSTGRES_USER.
-- One database per bounded context; the POSTGRES_USER role owns them all.
CREATE DATABASE occasionali_anagrafica;
CREATE DATABASE occasionali_portafoglio;
CREATE DATABASE occasionali_prestazioni;
CREATE DATABASE occasionali_comunicazioni;
CREATE DATABASE occasionali_deleghe;
CREATE DATABASE occasionali_notifiche;
