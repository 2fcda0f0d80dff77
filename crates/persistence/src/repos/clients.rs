//! `clients` adapter (DATA.md §2.2): the minimal client account.

use diesel::prelude::*;
use erp_domain::ClientId;
use erp_domain::ports::{ClientRepository, NewClient, RepoError};

use super::DieselUnitOfWork;
use crate::errors::map;
use crate::schema::clients;
use crate::time::to_db;
use crate::with_conn;

impl ClientRepository for DieselUnitOfWork<'_> {
    fn insert_client(&mut self, client: &NewClient) -> Result<ClientId, RepoError> {
        let now = to_db(client.now);
        let id: i64 = with_conn!(&mut self.conn, c => diesel::insert_into(clients::table)
            .values((
                clients::nom_entreprise.eq(&client.nom_entreprise),
                clients::email.eq(client.email.as_deref()),
                clients::is_active.eq(true),
                clients::date_creation.eq(now),
                clients::date_modification.eq(now),
            ))
            .returning(clients::id)
            .get_result(c))
        .map_err(map)?;
        Ok(ClientId::new(id))
    }

    fn client_exists(&mut self, id: ClientId) -> Result<bool, RepoError> {
        let n: i64 = with_conn!(&mut self.conn, c => clients::table
            .filter(clients::id.eq(id.get()))
            .count()
            .get_result(c))
        .map_err(map)?;
        Ok(n > 0)
    }
}
