//! The shared personas and fixtures: one [`World`], built by [`WorldBuilder`] with the options
//! the modules differ in (extra personas, a technicien profile for `samir`, the équipements).
//!
//! Whatever the options, the rows are created in one fixed order so that a module's data (and
//! so its ids) stay what they were: `admin`, `resp`, `resp2`, `karim`, `samir`, `client1`,
//! `client2`; then the technicien profiles (`karim`, then `samir`); then the équipements in the
//! order they were asked for; then the logins.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test set-up: failing loudly is the point"
)]

use actix_web::http::StatusCode;
use erp_domain::UserRole;
use serde_json::{Value, json};

use super::{Harness, seed_user};

/// The personas and fixtures a test starts from. Optional parts are read through the methods,
/// which fail loudly when the world was built without them.
pub struct World {
    /// The admin's access token.
    pub admin: String,
    /// `resp`, a responsable.
    pub resp: String,
    /// `karim`, a technicien with a technicien profile.
    pub tech: String,
    /// `client1`, a client user.
    pub client: String,
    /// `karim`'s user id.
    pub tech_user: i64,
    /// `client1`'s user id.
    pub client_user: i64,
    /// `karim`'s technicien profile id.
    pub technicien_id: i64,
    other_tech: Option<String>,
    other_technicien_id: Option<i64>,
    other_client: Option<String>,
    /// The équipements, in creation order, each with whether it belongs to `client1`.
    equipements: Vec<(i64, bool)>,
}

impl World {
    /// Starts a world: `admin`, `resp`, `karim` (with a technicien profile) and `client1`.
    pub fn builder() -> WorldBuilder {
        WorldBuilder::default()
    }

    /// `samir`'s access token (a second technicien).
    pub fn other_tech(&self) -> &str {
        self.other_tech
            .as_deref()
            .expect("world built without samir")
    }

    /// `samir`'s technicien profile id.
    pub fn other_technicien_id(&self) -> i64 {
        self.other_technicien_id
            .expect("world built without samir's technicien profile")
    }

    /// `client2`'s access token (a second client).
    pub fn other_client(&self) -> &str {
        self.other_client
            .as_deref()
            .expect("world built without client2")
    }

    /// The first équipement that belongs to no client.
    pub fn equipement_id(&self) -> i64 {
        self.equipements
            .iter()
            .find(|(_, owned)| !owned)
            .expect("world built without an unowned équipement")
            .0
    }

    /// The first équipement that belongs to `client1`.
    pub fn client_equipement_id(&self) -> i64 {
        self.equipements
            .iter()
            .find(|(_, owned)| *owned)
            .expect("world built without a client équipement")
            .0
    }
}

/// One équipement to create: name, type, localisation, and whether `client1` owns it.
struct EquipementSpec {
    nom: &'static str,
    kind: &'static str,
    localisation: &'static str,
    client: bool,
}

/// The options of a [`World`]; see the module doc for the creation order.
#[derive(Default)]
pub struct WorldBuilder {
    resp2: bool,
    samir: Option<bool>,
    client2: bool,
    equipements: Vec<EquipementSpec>,
}

impl WorldBuilder {
    /// Adds `resp2`, a second responsable (no token is taken).
    pub fn resp2(mut self) -> Self {
        self.resp2 = true;
        self
    }

    /// Adds `samir`, a second technicien; with a technicien profile if `profile`.
    pub fn samir(mut self, profile: bool) -> Self {
        self.samir = Some(profile);
        self
    }

    /// Adds `client2`, a second client.
    pub fn client2(mut self) -> Self {
        self.client2 = true;
        self
    }

    /// Adds an équipement belonging to no client.
    pub fn equipement(self, nom: &'static str, kind: &'static str, loc: &'static str) -> Self {
        self.with_equipement(nom, kind, loc, false)
    }

    /// Adds an équipement belonging to `client1`.
    pub fn client_equipement(
        self,
        nom: &'static str,
        kind: &'static str,
        loc: &'static str,
    ) -> Self {
        self.with_equipement(nom, kind, loc, true)
    }

    fn with_equipement(
        mut self,
        nom: &'static str,
        kind: &'static str,
        localisation: &'static str,
        client: bool,
    ) -> Self {
        self.equipements.push(EquipementSpec {
            nom,
            kind,
            localisation,
            client,
        });
        self
    }

    /// Creates the rows through the seeding helper and the API, then logs everyone in.
    pub async fn build(self, h: &Harness) -> World {
        let admin = h.admin().await;
        seed_user(&h.db, "resp", UserRole::Responsable, None);
        if self.resp2 {
            seed_user(&h.db, "resp2", UserRole::Responsable, None);
        }
        let karim = seed_user(&h.db, "karim", UserRole::Technicien, None);
        let samir = self.samir.map(|profile| {
            (
                seed_user(&h.db, "samir", UserRole::Technicien, None),
                profile,
            )
        });
        let client = seed_user(&h.db, "client1", UserRole::Client, None);
        if self.client2 {
            seed_user(&h.db, "client2", UserRole::Client, None);
        }
        let technicien_id = create(
            h,
            &admin,
            "/api/v1/techniciens",
            json!({"user_id": karim.id.get()}),
        )
        .await;
        let other_technicien_id = match &samir {
            Some((user, true)) => Some(
                create(
                    h,
                    &admin,
                    "/api/v1/techniciens",
                    json!({"user_id": user.id.get()}),
                )
                .await,
            ),
            _ => None,
        };
        let client_id = client.client_id.unwrap().get();
        let mut equipements = Vec::new();
        for e in &self.equipements {
            let mut body = json!({"nom": e.nom, "type": e.kind, "localisation": e.localisation});
            if e.client {
                body["client_id"] = json!(client_id);
            }
            equipements.push((
                create(h, &admin, "/api/v1/equipements", body).await,
                e.client,
            ));
        }
        let resp = h.token("resp").await.0;
        let tech = h.token("karim").await.0;
        let other_tech = match samir {
            Some(_) => Some(h.token("samir").await.0),
            None => None,
        };
        let client_token = h.token("client1").await.0;
        let other_client = match self.client2 {
            true => Some(h.token("client2").await.0),
            false => None,
        };
        World {
            admin,
            resp,
            tech,
            client: client_token,
            tech_user: karim.id.get(),
            client_user: client.id.get(),
            technicien_id,
            other_tech,
            other_technicien_id,
            other_client,
            equipements,
        }
    }
}

/// POSTs `body` to `uri` as `token`, expects 201 and returns the new row's id.
pub async fn create(h: &Harness, token: &str, uri: &str, body: Value) -> i64 {
    let res = h.post(uri, token, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body["id"].as_i64().unwrap()
}
