//! The DynamoDB store: one table (its key and cursor formats in [`keys`]), one file per
//! aggregate implementing that aggregate's trait, the request shapes in [`client`] and the
//! item mapping in [`items`].
//!
//! Every rule is enforced by the write's condition, never by a read before it; reads
//! filter on `expires_at` because TTL deletion is cleanup, not enforcement.

mod activity;
mod authenticator;
mod client;
mod codes;
mod grants;
mod identities;
mod items;
mod keys;
mod lockout;
mod mails;
mod sessions;
mod users;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

pub use keys::USERS_INDEX;

/// A [`super::Store`] on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table as `infra/template.yaml` declares it (for tests and local runs).
    pub async fn create_table(client: &Client, table: &str) -> anyhow::Result<()> {
        let attribute = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key = |name: &str, key_type| KeySchemaElement::builder().attribute_name(name).key_type(key_type).build();
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .attribute_definitions(attribute("gsi1pk")?)
            .attribute_definitions(attribute("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(USERS_INDEX)
                    .key_schema(key("gsi1pk", KeyType::Hash)?)
                    .key_schema(key("gsi1sk", KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("creating table {table}"))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().enabled(true).attribute_name("expires_at").build()?,
            )
            .send()
            .await
            .with_context(|| format!("enabling TTL on {table}"))?;
        Ok(())
    }
}
