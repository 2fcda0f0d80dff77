//! `users` adapter (DATA.md §2.1).

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;
use diesel::query_dsl::methods;
use erp_domain::clock::Timestamp;
use erp_domain::list::{Listed, Page, SortDir, SortKey, like_contains};
use erp_domain::password::PasswordHash;
use erp_domain::ports::{RepoError, UserRepository};
use erp_domain::text::norm;
use erp_domain::user::{
    Email, FullName, NewUser, User, UserFilter, UserRole, UserSortField, Username,
};
use erp_domain::{ClientId, UserId};

use super::DieselUnitOfWork;
use crate::dialect::locking::{Lockable as _, RowLock, transaction_advisory_lock};
use crate::errors::map;
use crate::paging::Paginate;
use crate::schema::users;
use crate::time::{DbTime, from_db, to_db};
use crate::with_conn;

/// The PostgreSQL transaction advisory lock taken by
/// [`UserRepository::lock_user_administration`]: the ASCII of `erp_user`.
const USER_ADMINISTRATION_LOCK: i64 = 0x6572_705f_7573_6572;

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    username: String,
    email: String,
    full_name: Option<String>,
    hashed_password: String,
    role: String,
    is_active: bool,
    client_id: Option<i64>,
    last_login: Option<DbTime>,
    password_changed_at: DbTime,
    created_at: DbTime,
    updated_at: DbTime,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow<'a> {
    username: &'a str,
    username_norm: String,
    email: &'a str,
    full_name: Option<&'a str>,
    full_name_norm: Option<String>,
    hashed_password: &'a str,
    role: &'static str,
    is_active: bool,
    client_id: Option<i64>,
    password_changed_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> Result<User, RepoError> {
        let corrupt =
            |what: &str| RepoError::Other(format!("users row {}: invalid {what}", self.id));
        Ok(User {
            id: UserId::new(self.id),
            username: Username::parse("username", &self.username)
                .map_err(|_| corrupt("username"))?,
            email: Email::parse("email", &self.email).map_err(|_| corrupt("email"))?,
            full_name: match self.full_name.as_deref() {
                Some(n) => Some(FullName::parse("full_name", n).map_err(|_| corrupt("full_name"))?),
                None => None,
            },
            password_hash: PasswordHash::from_phc(self.hashed_password.clone()),
            role: self.role.parse::<UserRole>().map_err(|_| corrupt("role"))?,
            is_active: self.is_active,
            client_id: self.client_id.map(ClientId::new),
            last_login: self.last_login.map(from_db),
            password_changed_at: from_db(self.password_changed_at),
            created_at: from_db(self.created_at),
            updated_at: from_db(self.updated_at),
        })
    }
}

fn one(row: Option<UserRow>) -> Result<Option<User>, RepoError> {
    row.map(UserRow::into_domain).transpose()
}

/// `username`, `email` or `full_name` (normalized) matches a `LIKE` pattern: the free-text
/// search of the users and techniciens lists.
pub(super) type UserSearch = dsl::Or<
    dsl::Or<
        dsl::Escape<dsl::Like<users::username_norm, String>>,
        dsl::Escape<dsl::Like<users::email, String>>,
    >,
    dsl::Escape<dsl::Like<dsl::AssumeNotNull<users::full_name_norm>, String>>,
>;

/// See [`UserSearch`].
pub(super) fn user_search(pattern: &str) -> UserSearch {
    users::username_norm
        .like(pattern.to_owned())
        .escape('\\')
        .or(users::email.like(pattern.to_owned()).escape('\\'))
        .or(users::full_name_norm
            .assume_not_null()
            .like(pattern.to_owned())
            .escape('\\'))
}

/// Applies the filters of `GET /users` to a boxed `users` query.
fn user_filters<Q>(mut q: Q, roles: &[&'static str], filter: &UserFilter, search: Option<&str>) -> Q
where
    Q: methods::FilterDsl<dsl::EqAny<users::role, Vec<&'static str>>, Output = Q>
        + methods::FilterDsl<dsl::Eq<users::is_active, bool>, Output = Q>
        + methods::FilterDsl<dsl::Eq<users::client_id, i64>, Output = Q>
        + methods::FilterDsl<UserSearch, Output = Q>,
{
    if !roles.is_empty() {
        q = q.filter(users::role.eq_any(roles.to_vec()));
    }
    if let Some(active) = filter.is_active {
        q = q.filter(users::is_active.eq(active));
    }
    if let Some(client) = filter.client_id {
        q = q.filter(users::client_id.eq(client.get()));
    }
    if let Some(pattern) = search {
        q = q.filter(user_search(pattern));
    }
    q
}

impl UserRepository for DieselUnitOfWork<'_> {
    fn insert_user(&mut self, user: &NewUser) -> Result<User, RepoError> {
        let now = to_db(user.now);
        let row = NewUserRow {
            username: user.username.as_str(),
            username_norm: user.username.normalized(),
            email: user.email.as_str(),
            full_name: user.full_name.as_ref().map(FullName::as_str),
            full_name_norm: user.full_name.as_ref().map(|n| norm(n.as_str())),
            hashed_password: user.password_hash.as_phc(),
            role: user.role.as_str(),
            is_active: user.is_active,
            client_id: user.client_id.map(ClientId::get),
            password_changed_at: now,
            created_at: now,
            updated_at: now,
        };
        let inserted: UserRow = with_conn!(&mut self.conn, c => diesel::insert_into(users::table)
            .values(&row)
            .returning(UserRow::as_returning())
            .get_result(c))
        .map_err(map)?;
        inserted.into_domain()
    }

    fn user_by_id(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        let row = with_conn!(&mut self.conn, c => users::table
            .find(id.get())
            .select(UserRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        one(row)
    }

    fn user_by_username_norm(&mut self, username_norm: &str) -> Result<Option<User>, RepoError> {
        let row = with_conn!(&mut self.conn, c => users::table
            .filter(users::username_norm.eq(username_norm))
            .select(UserRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        one(row)
    }

    fn user_by_email(&mut self, email: &str) -> Result<Option<User>, RepoError> {
        let row = with_conn!(&mut self.conn, c => users::table
            .filter(users::email.eq(email))
            .select(UserRow::as_select())
            .get_result(c)
            .optional())
        .map_err(map)?;
        one(row)
    }

    fn count_users(&mut self) -> Result<i64, RepoError> {
        with_conn!(&mut self.conn, c => users::table.count().get_result(c)).map_err(map)
    }

    fn set_last_login(&mut self, id: UserId, at: Timestamp) -> Result<(), RepoError> {
        let at = to_db(at);
        let n = with_conn!(&mut self.conn, c => diesel::update(users::table.find(id.get()))
            .set(users::last_login.eq(Some(at)))
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn set_user_active(
        &mut self,
        id: UserId,
        active: bool,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        let at = to_db(at);
        let n = with_conn!(&mut self.conn, c => diesel::update(users::table.find(id.get()))
            .set((users::is_active.eq(active), users::updated_at.eq(at)))
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn update_user(&mut self, user: &User) -> Result<(), RepoError> {
        let changes = (
            users::username.eq(user.username.as_str()),
            users::username_norm.eq(user.username.normalized()),
            users::email.eq(user.email.as_str()),
            users::full_name.eq(user.full_name.as_ref().map(FullName::as_str)),
            users::full_name_norm.eq(user.full_name.as_ref().map(|n| norm(n.as_str()))),
            users::hashed_password.eq(user.password_hash.as_phc()),
            users::role.eq(user.role.as_str()),
            users::is_active.eq(user.is_active),
            users::client_id.eq(user.client_id.map(ClientId::get)),
            users::password_changed_at.eq(to_db(user.password_changed_at)),
            users::updated_at.eq(to_db(user.updated_at)),
        );
        let n = with_conn!(&mut self.conn, c => diesel::update(users::table.find(user.id.get()))
            .set(changes)
            .execute(c))
        .map_err(map)?;
        if n == 0 {
            Err(RepoError::NotFound)
        } else {
            Ok(())
        }
    }

    fn list_users(
        &mut self,
        filter: &UserFilter,
        sort: &[SortKey<UserSortField>],
        page: Page,
    ) -> Result<Listed<User>, RepoError> {
        let roles: Vec<&'static str> = filter.roles.iter().map(|r| r.as_str()).collect();
        let search = filter.search.as_deref().map(|s| like_contains(&norm(s)));
        let first_dir = sort.first().map_or(SortDir::Asc, |k| k.dir);
        let (total, rows) = with_conn!(&mut self.conn, c => (|| {
            let total: i64 = user_filters(users::table.into_boxed(), &roles, filter, search.as_deref())
                .count()
                .get_result(c)?;
            let mut q = user_filters(users::table.select(UserRow::as_select()).into_boxed(), &roles, filter, search.as_deref());
            for key in sort {
                q = match (key.field, key.dir) {
                    (UserSortField::Id, SortDir::Asc) => q.then_order_by(users::id.asc()),
                    (UserSortField::Id, SortDir::Desc) => q.then_order_by(users::id.desc()),
                    (UserSortField::Username, SortDir::Asc) => q.then_order_by(users::username_norm.asc()),
                    (UserSortField::Username, SortDir::Desc) => q.then_order_by(users::username_norm.desc()),
                    (UserSortField::CreatedAt, SortDir::Asc) => q.then_order_by(users::created_at.asc()),
                    (UserSortField::CreatedAt, SortDir::Desc) => q.then_order_by(users::created_at.desc()),
                    // Nulls last in both directions, portably: order by "is null" first.
                    (UserSortField::LastLogin, SortDir::Asc) => q
                        .then_order_by(users::last_login.is_null().asc())
                        .then_order_by(users::last_login.asc()),
                    (UserSortField::LastLogin, SortDir::Desc) => q
                        .then_order_by(users::last_login.is_null().asc())
                        .then_order_by(users::last_login.desc()),
                };
            }
            q = match first_dir {
                SortDir::Asc => q.then_order_by(users::id.asc()),
                SortDir::Desc => q.then_order_by(users::id.desc()),
            };
            let rows: Vec<UserRow> = q.paged(page).load(c)?;
            Ok::<_, diesel::result::Error>((total, rows))
        })())
        .map_err(map)?;
        let items = rows
            .into_iter()
            .map(UserRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    fn user_by_id_for_update(&mut self, id: UserId) -> Result<Option<User>, RepoError> {
        let row = with_conn!(&mut self.conn, c => users::table
            .find(id.get())
            .select(UserRow::as_select())
            .locked(RowLock::ForUpdate)
            .get_result(c)
            .optional())
        .map_err(map)?;
        one(row)
    }

    fn lock_user_administration(&mut self) -> Result<(), RepoError> {
        transaction_advisory_lock(&mut self.conn, USER_ADMINISTRATION_LOCK).map_err(map)?;
        Ok(())
    }

    fn count_active_admins(&mut self) -> Result<i64, RepoError> {
        with_conn!(&mut self.conn, c => users::table
            .filter(users::role.eq(UserRole::Admin.as_str()))
            .filter(users::is_active.eq(true))
            .count()
            .get_result(c))
        .map_err(map)
    }
}
