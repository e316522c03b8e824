//! Safaricom M-Pesa Daraja's wire format, shared by the adapter (in
//! `workers`) and the callback ingress (in `api`): the STK password, and
//! parsing of callbacks and query answers with their quirks (result codes
//! that are numbers in callbacks, strings in query answers and text such as
//! `R000002` or `SFC_IC0003` in reversal and B2C results; metadata items
//! without a value; amounts as `1` or `1.0`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rust_decimal::Decimal;
use serde_json::Value;

/// The STK push password: `base64(shortcode + passkey + timestamp)`, the
/// timestamp as `YYYYMMDDHHmmss` (Nairobi time).
pub fn password(shortcode: &str, passkey: &str, timestamp: &str) -> String {
    STANDARD.encode(format!("{shortcode}{passkey}{timestamp}"))
}

/// A phone number as Daraja takes it (`2547XXXXXXXX`) from `+254 7…`,
/// `07…` or `2547…`; `None` if it is not a Kenyan mobile number.
pub fn msisdn(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = digits
        .strip_prefix("254")
        .or_else(|| digits.strip_prefix('0'))
        .unwrap_or(&digits);
    let valid = national.len() == 9 && (national.starts_with('7') || national.starts_with('1'));
    valid.then(|| format!("254{national}"))
}

/// Daraja's result code, as text: `0` in one message, `"0"` in another,
/// `"R000002"` (reversal) or `"SFC_IC0003"` (B2C) in others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCode(String);

impl ResultCode {
    /// The code read from a number or a string.
    pub fn of(value: &Value) -> Option<Self> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(Self(text))
    }

    /// `0`: done.
    pub fn is_success(&self) -> bool {
        self.0 == "0"
    }

    /// The code as Daraja sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The STK query's result code while the customer has not yet answered
/// the prompt: "The transaction is still under processing".
pub const STILL_PROCESSING: &str = "4999";

/// The error code of the STK query's HTTP 500 that means the same: "The
/// transaction is being processed". Not an outage.
pub const BEING_PROCESSED: &str = "500.001.1001";

/// Whether an error answer (`{"errorCode": ...}`) says the transaction is
/// still being processed.
pub fn is_being_processed(body: &Value) -> bool {
    body["errorCode"].as_str() == Some(BEING_PROCESSED)
}

/// An amount that is `1`, `1.0` or `"1"`.
fn amount(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A value that is a number or a string, as text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What an STK callback says.
#[derive(Debug, Clone, PartialEq)]
pub struct StkCallback {
    /// Daraja's id of the request (what the push returned).
    pub checkout_request_id: String,
    /// `0` paid; anything else did not (1032 cancelled, 1037 timed out, …).
    pub result_code: ResultCode,
    /// Daraja's words.
    pub result_desc: String,
    /// Amount paid, when paid.
    pub amount: Option<Decimal>,
    /// The M-Pesa receipt (`LGR7OWQX0R`), when paid.
    pub receipt: Option<String>,
    /// The paying phone number, when paid.
    pub phone_number: Option<String>,
}

/// Parses an STK callback body.
///
/// # Errors
/// When it is not one (no `Body.stkCallback.CheckoutRequestID`/`ResultCode`).
pub fn stk_callback(body: &Value) -> Result<StkCallback, String> {
    let callback = &body["Body"]["stkCallback"];
    let checkout_request_id = callback["CheckoutRequestID"]
        .as_str()
        .ok_or("no Body.stkCallback.CheckoutRequestID")?
        .to_string();
    let result_code =
        ResultCode::of(&callback["ResultCode"]).ok_or("no Body.stkCallback.ResultCode")?;
    let items = callback["CallbackMetadata"]["Item"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let item = |name: &str| {
        items
            .iter()
            .find(|i| i["Name"] == name)
            .map(|i| i["Value"].clone())
            .filter(|v| !v.is_null())
    };
    Ok(StkCallback {
        checkout_request_id,
        result_code,
        result_desc: callback["ResultDesc"].as_str().unwrap_or_default().into(),
        amount: item("Amount").as_ref().and_then(amount),
        receipt: item("MpesaReceiptNumber").as_ref().and_then(text),
        phone_number: item("PhoneNumber").as_ref().and_then(text),
    })
}

/// What an STK query answered: `None` while the payment is still being
/// processed (no result yet, [`STILL_PROCESSING`] or the
/// [`BEING_PROCESSED`] error), else the result code and description.
pub fn stk_query_result(body: &Value) -> Option<(ResultCode, String)> {
    if is_being_processed(body) {
        return None;
    }
    let result = ResultCode::of(&body["ResultCode"])?;
    if result.as_str() == STILL_PROCESSING {
        return None;
    }
    let desc = body["ResultDesc"].as_str().unwrap_or_default().to_string();
    Some((result, desc))
}

/// What a B2C, reversal or transaction-status result callback says.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultCallback {
    /// Daraja's id of the request (what the call returned).
    pub conversation_id: String,
    /// Ours, when we sent one.
    pub originator_conversation_id: Option<String>,
    /// `0` done; `R000002`, `SFC_IC0003`, `2001`, … not.
    pub result_code: ResultCode,
    /// Daraja's words.
    pub result_desc: String,
    /// The M-Pesa transaction id.
    pub transaction_id: Option<String>,
    /// `TransactionAmount`, when reported.
    pub amount: Option<Decimal>,
}

/// Parses a `{"Result": {...}}` callback.
///
/// # Errors
/// When it is not one.
pub fn result_callback(body: &Value) -> Result<ResultCallback, String> {
    let result = &body["Result"];
    let conversation_id = result["ConversationID"]
        .as_str()
        .ok_or("no Result.ConversationID")?
        .to_string();
    let result_code = ResultCode::of(&result["ResultCode"]).ok_or("no Result.ResultCode")?;
    let parameters = match &result["ResultParameters"]["ResultParameter"] {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![result["ResultParameters"]["ResultParameter"].clone()],
        _ => Vec::new(),
    };
    let amount = parameters
        .iter()
        .find(|p| p["Key"] == "TransactionAmount" || p["Key"] == "Amount")
        .and_then(|p| amount(&p["Value"]));
    Ok(ResultCallback {
        conversation_id,
        originator_conversation_id: result["OriginatorConversationID"]
            .as_str()
            .map(str::to_string),
        result_code,
        result_desc: result["ResultDesc"].as_str().unwrap_or_default().into(),
        transaction_id: result["TransactionID"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        amount,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_password_matches_the_published_sandbox_vector() {
        assert_eq!(
            password(
                "174379",
                "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919",
                "20160216165627"
            ),
            "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3"
        );
    }

    #[test]
    fn kenyan_mobile_numbers_become_msisdns() {
        assert_eq!(msisdn("+254 712 345 678").as_deref(), Some("254712345678"));
        assert_eq!(msisdn("0712345678").as_deref(), Some("254712345678"));
        assert_eq!(msisdn("254110000001").as_deref(), Some("254110000001"));
        assert_eq!(msisdn("+1 415 867 5309"), None);
        assert_eq!(msisdn("07123"), None);
    }

    #[test]
    fn a_paid_stk_callback_reads_numbers_floats_and_valueless_items() {
        let body = json!({"Body":{"stkCallback":{
          "MerchantRequestID":"19465-780693-1","CheckoutRequestID":"ws_CO_27072017154747416",
          "ResultCode":0,"ResultDesc":"The service request is processed successfully.",
          "CallbackMetadata":{"Item":[
            {"Name":"Amount","Value":1.0},{"Name":"MpesaReceiptNumber","Value":"LGR7OWQX0R"},
            {"Name":"Balance"},{"Name":"TransactionDate","Value":20170727154800i64},
            {"Name":"PhoneNumber","Value":254721566839i64}]}}}});
        assert_eq!(
            stk_callback(&body),
            Ok(StkCallback {
                checkout_request_id: "ws_CO_27072017154747416".into(),
                result_code: ResultCode("0".into()),
                result_desc: "The service request is processed successfully.".into(),
                amount: Some(Decimal::ONE),
                receipt: Some("LGR7OWQX0R".into()),
                phone_number: Some("254721566839".into()),
            })
        );
    }

    #[test]
    fn a_cancelled_stk_callback_has_no_metadata() {
        let body = json!({"Body":{"stkCallback":{"MerchantRequestID":"8555-67195-1",
            "CheckoutRequestID":"ws_CO_27072017151044001","ResultCode":1032,
            "ResultDesc":"[STK_CB - ]Request cancelled by user"}}});
        let callback = stk_callback(&body).unwrap();
        assert_eq!(callback.result_code.as_str(), "1032");
        assert!(!callback.result_code.is_success());
        assert_eq!((callback.amount, callback.receipt), (None, None));
        assert!(stk_callback(&json!({"Body": {}})).is_err());
    }

    #[test]
    fn query_answers_carry_the_result_code_as_a_string() {
        let body = json!({"ResponseCode":"0","ResultCode":"1032",
            "ResultDesc":"[STK_CB - ]Request cancelled by user"});
        assert_eq!(
            stk_query_result(&body),
            Some((
                ResultCode("1032".into()),
                "[STK_CB - ]Request cancelled by user".into()
            ))
        );
    }

    #[test]
    fn a_query_before_the_customer_answers_is_pending_whichever_way_daraja_says_it() {
        let under_processing = json!({"ResponseCode":"0","ResponseDescription":"The service request has been accepted successsfully",
            "MerchantRequestID":"22205-34066-1","CheckoutRequestID":"ws_CO_13012021093521236557",
            "ResultCode":"4999","ResultDesc":"The transaction is still under processing"});
        assert_eq!(stk_query_result(&under_processing), None);
        let being_processed = json!({"requestId":"ws_CO_13012021093521236557",
            "errorCode":"500.001.1001","errorMessage":"The transaction is being processed"});
        assert_eq!(stk_query_result(&being_processed), None);
        assert!(is_being_processed(&being_processed));
        let wrong =
            json!({"requestId":"1","errorCode":"500.001.1001x","errorMessage":"Wrong credentials"});
        assert!(!is_being_processed(&wrong));
    }

    #[test]
    fn b2c_results_read_parameters_as_a_list_or_a_single_object() {
        let body = json!({"Result":{"ResultType":0,"ResultCode":0,
            "ResultDesc":"The service request has been accepted successfully.",
            "OriginatorConversationID":"19455-424535-1","ConversationID":"AG_20170717_00006be9c8b5cc46abb6",
            "TransactionID":"LGH3197RIB",
            "ResultParameters":{"ResultParameter":[
              {"Key":"TransactionReceipt","Value":"LGH3197RIB"},{"Key":"TransactionAmount","Value":8000}]},
            "ReferenceData":{"ReferenceItem":{"Key":"QueueTimeoutURL","Value":"https://x"}}}});
        let result = result_callback(&body).unwrap();
        assert_eq!(result.conversation_id, "AG_20170717_00006be9c8b5cc46abb6");
        assert_eq!(result.amount, Some(Decimal::from(8000)));
        assert_eq!(result.transaction_id.as_deref(), Some("LGH3197RIB"));
        let single = json!({"Result":{"ResultCode":"2001","ResultDesc":"The initiator information is invalid.",
            "ConversationID":"AG_1","ResultParameters":{"ResultParameter":{"Key":"Amount","Value":"10.00"}}}});
        let result = result_callback(&single).unwrap();
        assert_eq!(result.result_code.as_str(), "2001");
        assert_eq!(result.amount, Some(Decimal::new(1000, 2)));
    }

    #[test]
    fn text_result_codes_of_reversals_and_b2c_are_read_as_failures() {
        let reversal = json!({"Result":{"ResultType":0,"ResultCode":"R000002",
            "ResultDesc":"The OriginalTransactionID is invalid.",
            "OriginatorConversationID":"8521-4298025-1","ConversationID":"AG_20181005_00004d7ee675c0c7ee0b",
            "TransactionID":"MJ561H6X5O",
            "ReferenceData":{"ReferenceItem":{"Key":"QueueTimeoutURL","Value":"https://x"}}}});
        let result = result_callback(&reversal).unwrap();
        assert_eq!(result.result_code.as_str(), "R000002");
        assert!(!result.result_code.is_success());
        let b2c = json!({"Result":{"ResultType":0,"ResultCode":"SFC_IC0003",
            "ResultDesc":"The operator does not exist.","OriginatorConversationID":"x",
            "ConversationID":"AG_2","TransactionID":""}});
        let result = result_callback(&b2c).unwrap();
        assert_eq!(result.result_code.to_string(), "SFC_IC0003");
        assert_eq!(result.transaction_id, None);
        assert!(ResultCode::of(&json!(0)).unwrap().is_success());
        assert!(ResultCode::of(&json!("0")).unwrap().is_success());
        assert_eq!(ResultCode::of(&json!(null)), None);
    }
}
