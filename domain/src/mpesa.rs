//! Safaricom M-Pesa Daraja's wire format, shared by the adapter (in
//! `workers`) and the callback ingress (in `api`): the STK password, and
//! parsing of callbacks and query answers with their quirks (result codes
//! that are numbers in callbacks and strings in query answers, metadata
//! items without a value, amounts as `1` or `1.0`).

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

/// A result code that is a number in one message and a string in another.
fn code(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
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
    pub result_code: i64,
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
    let result_code = code(&callback["ResultCode"]).ok_or("no Body.stkCallback.ResultCode")?;
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
/// processed, else the result code and description.
pub fn stk_query_result(body: &Value) -> Option<(i64, String)> {
    let result = code(&body["ResultCode"])?;
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
    /// `0` done.
    pub result_code: i64,
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
    let result_code = code(&result["ResultCode"]).ok_or("no Result.ResultCode")?;
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
                result_code: 0,
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
        assert_eq!(callback.result_code, 1032);
        assert_eq!((callback.amount, callback.receipt), (None, None));
        assert!(stk_callback(&json!({"Body": {}})).is_err());
    }

    #[test]
    fn query_answers_carry_the_result_code_as_a_string() {
        let body = json!({"ResponseCode":"0","ResultCode":"1032",
            "ResultDesc":"[STK_CB - ]Request cancelled by user"});
        assert_eq!(
            stk_query_result(&body),
            Some((1032, "[STK_CB - ]Request cancelled by user".into()))
        );
        assert_eq!(
            stk_query_result(&json!({"errorCode": "500.001.1001"})),
            None
        );
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
        assert_eq!(result.result_code, 2001);
        assert_eq!(result.amount, Some(Decimal::new(1000, 2)));
    }
}
