//! How the listing states of [`crate::domain::listing_state`] are stored: as their names in
//! `Text` columns, on both engines. Reading a name that is not a state is an error (the schema's
//! CHECK constraints keep them out). This is the one place the states meet diesel, so the
//! domain types stay free of the database.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;
use diesel::{AsExpression, FromSqlRow};

use crate::domain::{Approval, AttendingType, Capacity, ListingStatus};

/// Gives a state `AsExpression`/`FromSqlRow` (through a proxy, as the type is declared in
/// `domain`) and `ToSql`/`FromSql` for `Text` over any backend whose strings do (SQLite,
/// PostgreSQL and the two-engine backend).
macro_rules! text_column {
    ($state:ident, $proxy:ident) => {
        #[derive(AsExpression, FromSqlRow)]
        #[diesel(foreign_derive)]
        #[diesel(sql_type = Text)]
        #[allow(dead_code)]
        struct $proxy($state);

        impl<DB> ToSql<Text, DB> for $state
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> FromSql<Text, DB> for $state
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                Ok($state::try_from(text)?)
            }
        }
    };
}

text_column!(ListingStatus, ListingStatusColumn);
text_column!(Capacity, CapacityColumn);
text_column!(Approval, ApprovalColumn);
text_column!(AttendingType, AttendingTypeColumn);
