//! The API token: `USER@REALM!TOKENID=SECRET` as `pveum user token add` prints it, sent as
//! `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`. Its `Debug` hides the secret.

use crate::Error;

#[derive(Clone)]
pub struct Token {
    /// `USER@REALM!TOKENID`.
    id: String,
    secret: String,
}

impl Token {
    pub fn parse(text: &str) -> Result<Token, Error> {
        let text = text.trim();
        let Some((id, secret)) = text.split_once('=') else {
            return Err(Error::Token("no `=` between the token's name and its secret".into()));
        };
        let Some((user, token_id)) = id.split_once('!') else {
            return Err(Error::Token("no `!` between the user and the token id".into()));
        };
        if !user.contains('@') || user.starts_with('@') || user.ends_with('@') {
            return Err(Error::Token(format!("the user `{user}` is not `USER@REALM`")));
        }
        if token_id.is_empty() || secret.is_empty() {
            return Err(Error::Token("the token id and the secret must not be empty".into()));
        }
        if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Token("the secret contains whitespace".into()));
        }
        Ok(Token { id: id.to_string(), secret: secret.to_string() })
    }

    /// `USER@REALM!TOKENID`, which may be printed.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `Authorization` header's value.
    pub(crate) fn header(&self) -> String {
        format!("PVEAPIToken={}={}", self.id, self.secret)
    }

    /// The secret, for redacting it from anything the node echoes back.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token({}=***)", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, &str>) {
        let got = Token::parse(input).map(|t| t.header()).map_err(|e| e.to_string());
        assert_eq!(got.as_deref().map_err(String::as_str), expected, "{input}");
    }

    #[test]
    fn parses_and_refuses() {
        check("root@pam!hearth=0b5e-11", Ok("PVEAPIToken=root@pam!hearth=0b5e-11"));
        check(" hearth@pve!apply=abc\n", Ok("PVEAPIToken=hearth@pve!apply=abc"));
        check(
            "root@pam!hearth",
            Err("the API token is not `USER@REALM!TOKENID=SECRET`: no `=` between the token's name and its secret"),
        );
        check(
            "root@pam=abc",
            Err("the API token is not `USER@REALM!TOKENID=SECRET`: no `!` between the user and the token id"),
        );
        check(
            "root!x=abc",
            Err("the API token is not `USER@REALM!TOKENID=SECRET`: the user `root` is not `USER@REALM`"),
        );
        check(
            "root@pam!x=",
            Err("the API token is not `USER@REALM!TOKENID=SECRET`: the token id and the secret must not be empty"),
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let t = Token::parse("root@pam!hearth=topsecret").unwrap();
        assert_eq!(format!("{t:?}"), "Token(root@pam!hearth=***)");
    }
}
