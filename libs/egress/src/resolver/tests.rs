use std::str::FromStr;

use super::*;

fn resolver(policy: &str) -> GuardedResolver {
    let table = HashMap::from([
        (
            "internal.test".to_owned(),
            vec!["10.0.0.1".parse().expect("valid")],
        ),
        ("public.test".to_owned(), vec!["8.8.8.8".parse().expect("valid")]),
        (
            "mixed.test".to_owned(),
            vec![
                "8.8.8.8".parse().expect("valid"),
                "127.0.0.1".parse().expect("valid"),
            ],
        ),
    ]);
    let policy = EgressPolicy::parse_list(policy).expect("valid policy");
    GuardedResolver::new(Arc::new(Lookup::Static(table)), Arc::new(policy))
}

async fn resolve(
    resolver: &GuardedResolver,
    host: &str,
) -> Result<Vec<SocketAddr>, Box<dyn Error + Send + Sync>> {
    let name = Name::from_str(host).expect("valid name");
    Ok(resolver.resolve(name).await?.collect())
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_without_connecting() {
    let error = resolve(&resolver(""), "internal.test")
        .await
        .expect_err("10.0.0.1 is private");

    let refusal = RefusedAddress::find_in(error.as_ref()).expect("the error is a refusal");
    assert_eq!(refusal.host, "internal.test");
    assert_eq!(refusal.address, IpAddr::from([10, 0, 0, 1]));
    assert_eq!(refusal.class, AddressClass::Private);
    assert_eq!(
        refusal.to_string(),
        "internal.test resolves to 10.0.0.1, a private address"
    );
}

#[tokio::test]
async fn one_forbidden_address_among_public_ones_refuses_the_name() {
    let error = resolve(&resolver(""), "mixed.test")
        .await
        .expect_err("127.0.0.1 is loopback");
    assert!(RefusedAddress::find_in(error.as_ref()).is_some());
}

#[tokio::test]
async fn public_addresses_pass_with_port_zero_for_reqwest_to_fill_in() {
    let addresses = resolve(&resolver(""), "public.test")
        .await
        .expect("8.8.8.8 is public");
    assert_eq!(addresses, vec![SocketAddr::from(([8, 8, 8, 8], 0))]);
}

#[tokio::test]
async fn an_allow_listed_network_admits_a_resolved_private_address() {
    let addresses = resolve(&resolver("10.0.0.0/8"), "internal.test")
        .await
        .expect("10/8 is allowed");
    assert_eq!(addresses.len(), 1);
}

#[tokio::test]
async fn a_name_missing_from_the_static_table_fails_without_being_a_refusal() {
    let error = resolve(&resolver(""), "unknown.test")
        .await
        .expect_err("not in the table");
    assert!(RefusedAddress::find_in(error.as_ref()).is_none());
}
