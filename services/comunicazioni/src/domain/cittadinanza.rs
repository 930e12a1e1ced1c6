//! A worker's citizenship (LAO-4): an ISO 3166-1 alpha-2 code as the API documents ("IT",
//! "MA"), or the Z-code of the state as the Belfiore tables name it ("Z330"). Whether it is an
//! EU citizenship decides between an identity document and a residence permit.

use occasionali_kernel::luoghi;

/// The officially assigned ISO 3166-1 alpha-2 codes, plus XK (Kosovo, user-assigned but used by
/// the EU and by Italian registries).
const ISO: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// Italy and the 26 other EU member states (EU-27 since 1 February 2020), ISO alpha-2.
const UE: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
    "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CittadinanzaError {
    Sconosciuta,
}

/// A known citizenship, normalised upper case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cittadinanza(String);

impl Cittadinanza {
    pub fn parse(s: &str) -> Result<Cittadinanza, CittadinanzaError> {
        let code = s.trim().to_ascii_uppercase();
        let known = match code.len() {
            2 => ISO.split(' ').any(|c| c == code),
            4 => code.starts_with('Z') && luoghi::stato_estero(&code).is_some(),
            _ => false,
        };
        if known {
            Ok(Cittadinanza(code))
        } else {
            Err(CittadinanzaError::Sconosciuta)
        }
    }

    /// Italian or of another EU member state: an identity document suffices (LAO-4).
    pub fn is_ue(&self) -> bool {
        if self.0.len() == 2 {
            UE.contains(&self.0.as_str())
        } else {
            luoghi::is_eu_state(&self.0)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lao_4_iso_list_is_complete_and_distinct() {
        let codes: Vec<&str> = ISO.split(' ').collect();
        assert_eq!(codes.len(), 250, "249 assigned codes and XK");
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, codes, "sorted and distinct");
        assert!(UE.iter().all(|c| codes.contains(c)));
    }

    #[test]
    fn lao_4_eu_or_not() {
        for (code, ue) in [
            ("IT", true),
            ("it", true),
            ("FR", true),
            ("GR", true),
            ("MA", false),
            ("GB", false),
            ("CH", false),
            ("AL", false),
            ("Z110", true),
            ("Z330", false),
            ("Z114", false),
        ] {
            assert_eq!(Cittadinanza::parse(code).unwrap().is_ue(), ue, "{code}");
        }
        for bad in ["", "XX", "ITA", "H501", "Z999", "EL"] {
            assert!(Cittadinanza::parse(bad).is_err(), "{bad}");
        }
    }
}
