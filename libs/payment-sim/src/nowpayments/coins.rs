//! The coins and fiat currencies the fake quotes, with made-up but fixed exchange rates.

use crate::ids;

/// One coin a payer can send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Coin {
    /// NOWPayments' ticker, e.g. `usdttrc20`.
    pub(crate) ticker: &'static str,
    /// The chain it travels on, as the `network` field names it.
    pub(crate) network: &'static str,
    /// US dollars per coin; fixed so tests can predict `pay_amount`.
    pub(crate) usd_rate: f64,
    address: AddressStyle,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AddressStyle {
    /// `bc1q…`, `ltc1q…`: a bech32 prefix and 38 characters.
    Bech32(&'static str),
    /// `0x` and 40 hex digits.
    Ethereum,
    /// `T` and 33 base58 characters (TRON).
    Tron,
    /// 44 base58 characters (Solana).
    Solana,
}

/// The coins `pay_currency` may name; anything else is `CURRENCY_UNAVAILABLE`.
pub(crate) const COINS: &[Coin] = &[
    coin("btc", "btc", 60_000.0, AddressStyle::Bech32("bc1q")),
    coin("eth", "eth", 3_000.0, AddressStyle::Ethereum),
    coin("usdttrc20", "trx", 1.0, AddressStyle::Tron),
    coin("usdc", "eth", 1.0, AddressStyle::Ethereum),
    coin("sol", "sol", 150.0, AddressStyle::Solana),
    coin("ltc", "ltc", 80.0, AddressStyle::Bech32("ltc1q")),
];

/// The fiat currencies `price_currency` may name, with US dollars per unit.
const FIAT: &[(&str, f64)] = &[("usd", 1.0), ("eur", 1.08)];

/// The smallest `price_amount` accepted, in the price currency; below it is `AMOUNT_MINIMAL_ERROR`.
pub(crate) const MIN_PRICE: f64 = 1.0;

const BECH32: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";

/// Returns the coin `ticker` names (case-insensitive), if the fake offers it.
pub(crate) fn coin_named(ticker: &str) -> Option<Coin> {
    COINS
        .iter()
        .copied()
        .find(|coin| coin.ticker.eq_ignore_ascii_case(ticker))
}

/// Returns US dollars per unit of the fiat currency `code`, if the fake prices in it.
pub(crate) fn fiat_usd_rate(code: &str) -> Option<f64> {
    FIAT.iter()
        .find(|(fiat, _)| fiat.eq_ignore_ascii_case(code))
        .map(|(_, rate)| *rate)
}

/// Rounds a coin amount to eight decimals, the precision NOWPayments quotes.
pub(crate) fn round8(amount: f64) -> f64 {
    (amount * 1e8).round() / 1e8
}

impl Coin {
    /// Returns a fresh deposit address in the coin's usual format.
    pub(crate) fn new_address(&self) -> String {
        match self.address {
            AddressStyle::Bech32(prefix) => format!("{prefix}{}", ids::from_alphabet(BECH32, 38)),
            AddressStyle::Ethereum => format!("0x{}", ids::from_alphabet(HEX, 40)),
            AddressStyle::Tron => format!("T{}", ids::from_alphabet(BASE58, 33)),
            AddressStyle::Solana => ids::from_alphabet(BASE58, 44),
        }
    }
}

const fn coin(ticker: &'static str, network: &'static str, usd_rate: f64, address: AddressStyle) -> Coin {
    Coin {
        ticker,
        network,
        usd_rate,
        address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_look_like_their_chain() {
        let btc = coin_named("BTC").unwrap().new_address();
        assert!(btc.starts_with("bc1q") && btc.len() == 42);
        let eth = coin_named("eth").unwrap().new_address();
        assert!(eth.starts_with("0x") && eth.len() == 42);
        assert!(coin_named("doge").is_none());
        assert_eq!(round8(20.0 / 60_000.0), 0.00033333);
    }
}
