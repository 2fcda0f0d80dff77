DROP TABLE planning_occurrences;
DROP TABLE historiques_interventions;
DROP TABLE interventions;
DROP TABLE plannings;
DROP TABLE equipements;
DROP TABLE technicien_competence;
DROP TABLE competences;
DROP TABLE techniciens;
