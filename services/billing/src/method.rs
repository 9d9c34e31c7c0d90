//! What a caller may pay with: processor tokens only, never card data.

use crate::error::Error;

/// The three processors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// Cards through Stripe PaymentIntents.
    Stripe,
    /// Crypto through a NOWPayments-style processor.
    Crypto,
    /// The AfterDark billing API.
    AfterDark,
}

impl ProviderKind {
    /// Parses `stripe`, `crypto` or `afterdark` (any case, as `X-Billing: Stripe` sends it).
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "stripe" | "card" => Ok(ProviderKind::Stripe),
            "crypto" => Ok(ProviderKind::Crypto),
            "afterdark" => Ok(ProviderKind::AfterDark),
            _ => Err(Error::invalid("provider", "must be stripe, crypto or afterdark")),
        }
    }

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Stripe => "stripe",
            ProviderKind::Crypto => "crypto",
            ProviderKind::AfterDark => "afterdark",
        }
    }
}

/// A validated payment method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    /// A Stripe PaymentMethod id (`pm_…`).
    Card {
        /// The token.
        payment_method: String,
    },
    /// A coin and the payer's wallet.
    Crypto {
        /// The coin to pay in, as the processor names it (`eth`, `btc`, …).
        pay_currency: String,
        /// The payer's wallet, kept for the record.
        wallet: String,
    },
    /// The user's AfterDark account, identified by our user id.
    AfterDark,
}

impl PaymentMethod {
    /// Parses the method for `provider`: `card:pm_…` (or `stripe:pm_…`, `pm_…`) for Stripe,
    /// `crypto:network:wallet` for crypto, anything or nothing for AfterDark. A raw card number
    /// anywhere is refused without being repeated.
    pub fn parse(provider: ProviderKind, text: &str) -> Result<Self, Error> {
        if gpuproxy_domain::contains_card_number(text) {
            return Err(Error::RawCard);
        }
        let text = text.trim();
        match provider {
            ProviderKind::Stripe => {
                let token = text
                    .strip_prefix("card:")
                    .or_else(|| text.strip_prefix("stripe:"))
                    .unwrap_or(text);
                let valid = token.starts_with("pm_")
                    && token.len() <= 255
                    && token[3..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if valid && token.len() > 3 {
                    Ok(PaymentMethod::Card {
                        payment_method: token.to_owned(),
                    })
                } else {
                    Err(Error::invalid(
                        "payment_method",
                        "must be a Stripe PaymentMethod id, as card:pm_…",
                    ))
                }
            }
            ProviderKind::Crypto => {
                let mut parts = text.splitn(3, ':');
                let (Some("crypto"), Some(network), wallet) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(Error::invalid("payment_method", "must be crypto:network:wallet"));
                };
                let network = network.trim().to_ascii_lowercase();
                let clean = |value: &str| {
                    !value.is_empty()
                        && value.len() <= 128
                        && value
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                };
                let wallet = wallet.unwrap_or("").trim();
                if !clean(&network) || !(wallet.is_empty() || clean(wallet)) {
                    return Err(Error::invalid("payment_method", "must be crypto:network:wallet"));
                }
                Ok(PaymentMethod::Crypto {
                    pay_currency: coin(&network).to_owned(),
                    wallet: wallet.to_owned(),
                })
            }
            ProviderKind::AfterDark => Ok(PaymentMethod::AfterDark),
        }
    }

    /// What is stored of the method: the token, the coin and wallet, or nothing.
    pub fn stored(&self) -> String {
        match self {
            PaymentMethod::Card { payment_method } => format!("card:{payment_method}"),
            PaymentMethod::Crypto { pay_currency, wallet } => format!("crypto:{pay_currency}:{wallet}"),
            PaymentMethod::AfterDark => "afterdark".to_owned(),
        }
    }
}

/// Maps the seeds' network names to the processor's coin codes; codes pass through.
fn coin(network: &str) -> &str {
    match network {
        "ethereum" => "eth",
        "bitcoin" => "btc",
        "solana" => "sol",
        "litecoin" => "ltc",
        "tether" | "usdt" => "usdttrc20",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_card_header_is_refused_as_a_raw_card() {
        let refused = PaymentMethod::parse(ProviderKind::Stripe, "card:4242424242424242:12/25:123");
        assert!(matches!(refused, Err(Error::RawCard)));
    }

    #[test]
    fn tokens_and_crypto_methods_parse() {
        assert_eq!(
            PaymentMethod::parse(ProviderKind::Stripe, "card:pm_card_visa").ok(),
            Some(PaymentMethod::Card {
                payment_method: "pm_card_visa".to_owned()
            })
        );
        assert_eq!(
            PaymentMethod::parse(ProviderKind::Crypto, "crypto:ethereum:0x123abc").ok(),
            Some(PaymentMethod::Crypto {
                pay_currency: "eth".to_owned(),
                wallet: "0x123abc".to_owned()
            })
        );
        assert!(PaymentMethod::parse(ProviderKind::Stripe, "card:tok visa").is_err());
        assert!(PaymentMethod::parse(ProviderKind::Crypto, "ethereum:0x1").is_err());
    }
}
