//! A canonical request written as a Gemini `generateContent` body.
//!
//! Lossy where Gemini has no equivalent: `parallel_tool_calls`, `user` and participant
//! `name`s are dropped. Tool results carry no error flag in Gemini; a failed one is sent
//! under the `error` key of the function response, as Google documents, others under
//! `content`.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerationConfig, Part, Request, ToolConfig, ToolSet,
};
use crate::chat::{
    ChatRequest, Image, Message, Part as ChatPart, ResponseFormat, Role, ToolChoice,
};
use crate::error::ProtoError;

/// Writes `req` as a Gemini request body (the model goes in the URL).
///
/// System messages become `systemInstruction`; assistant turns are role `model`; tool
/// results are `functionResponse` parts in user turns, named after the call they answer,
/// found by id among the earlier assistant tool calls. Consecutive turns of one role are
/// merged, so parallel calls' results travel together as Gemini expects.
pub fn write(req: &ChatRequest) -> Result<Bytes, ProtoError> {
    let mut system = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for (i, message) in req.messages.iter().enumerate() {
        let (role, parts) = match message.role {
            Role::System => {
                system.extend(system_parts(i, message)?);
                continue;
            }
            Role::User => ("user", parts(&message.content)),
            Role::Assistant => {
                for call in &message.tool_calls {
                    call_names.insert(&call.id, &call.name);
                }
                ("model", model_parts(i, message)?)
            }
            Role::Tool => ("user", tool_result(i, message, &call_names)?),
        };
        push_content(&mut contents, role, parts);
    }
    if contents.is_empty() {
        // Gemini refuses a request with no contents; say why in the gateway's words.
        return Err(ProtoError::field(
            "messages",
            "no user or assistant message with content: Gemini models need at least one",
        ));
    }
    let out = Request {
        contents,
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        tools: tools(req),
        tool_config: if req.tools.is_empty() {
            None
        } else {
            req.tool_choice.as_ref().map(tool_config)
        },
        generation_config: generation_config(req),
    };
    Ok(super::to_bytes(&out))
}

/// Adds a turn, merged into the previous one when the role repeats; a turn without parts
/// is skipped (Gemini refuses empty `parts`).
fn push_content(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(role.to_owned()),
            parts,
        }),
    }
}

fn text(text: &str) -> Part {
    Part {
        text: Some(text.to_owned()),
        ..Part::default()
    }
}

fn system_parts(i: usize, message: &Message) -> Result<Vec<Part>, ProtoError> {
    message
        .content
        .iter()
        .map(|part| match part {
            ChatPart::Text(t) => Ok(text(t)),
            ChatPart::Image(_) => Err(ProtoError::Unsupported(format!(
                "messages[{i}]: images in system messages are not supported by Gemini models"
            ))),
        })
        .collect()
}

/// Text and image parts; empty text is dropped (OpenAI clients send `content: ""` beside
/// tool calls).
fn parts(content: &[ChatPart]) -> Vec<Part> {
    content
        .iter()
        .filter(|part| !matches!(part, ChatPart::Text(t) if t.is_empty()))
        .map(|part| match part {
            ChatPart::Text(t) => text(t),
            ChatPart::Image(image) => image_part(image),
        })
        .collect()
}

fn image_part(image: &Image) -> Part {
    match image {
        Image::Base64 { media_type, data } => Part {
            inline_data: Some(Blob {
                mime_type: media_type.clone(),
                data: data.clone(),
            }),
            ..Part::default()
        },
        Image::Url { url, .. } => Part {
            file_data: Some(FileData {
                mime_type: Some(guess_mime(url).to_owned()),
                file_uri: url.clone(),
            }),
            ..Part::default()
        },
    }
}

/// The image type a URL's extension names; JPEG when it names none (Gemini requires a
/// type for file URIs, and photos are the common case).
fn guess_mime(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        _ => "image/jpeg",
    }
}

fn model_parts(i: usize, message: &Message) -> Result<Vec<Part>, ProtoError> {
    let mut out = parts(&message.content);
    for (j, call) in message.tool_calls.iter().enumerate() {
        let args = call_args(&call.arguments).ok_or_else(|| {
            ProtoError::field(
                format!("messages[{i}].tool_calls[{j}].function.arguments"),
                "must be a JSON object encoded as a string",
            )
        })?;
        let function_call = FunctionCall {
            name: call.name.clone(),
            args: Some(args),
            id: None,
        };
        out.push(Part {
            function_call: Some(function_call),
            thought_signature: super::signature_of(&call.id).map(str::to_owned),
            ..Part::default()
        });
    }
    Ok(out)
}

/// Arguments as Gemini's `args` object; blank arguments mean `{}`.
fn call_args(arguments: &str) -> Option<Value> {
    if arguments.trim().is_empty() {
        return Some(Value::Object(Map::new()));
    }
    serde_json::from_str::<Value>(arguments)
        .ok()
        .filter(Value::is_object)
}

/// A `functionResponse` part, then the result's images as parts of the same turn (the
/// response itself holds only JSON).
fn tool_result(
    i: usize,
    message: &Message,
    call_names: &HashMap<&str, &str>,
) -> Result<Vec<Part>, ProtoError> {
    let field = || format!("messages[{i}].tool_call_id");
    let Some(id) = &message.tool_call_id else {
        return Err(ProtoError::field(field(), "required on tool messages"));
    };
    let Some(name) = call_names.get(id.as_str()) else {
        return Err(ProtoError::field(
            field(),
            format!("no earlier assistant tool call has id `{id}`"),
        ));
    };
    let output = message.joined_text();
    let output = match serde_json::from_str::<Value>(&output) {
        Ok(object @ Value::Object(_)) => object,
        _ => Value::String(output),
    };
    let key = if message.is_error { "error" } else { "content" };
    let response = FunctionResponse {
        name: (*name).to_owned(),
        response: json!({ key: output }),
    };
    let mut out = vec![Part {
        function_response: Some(response),
        ..Part::default()
    }];
    out.extend(message.content.iter().filter_map(|part| match part {
        ChatPart::Image(image) => Some(image_part(image)),
        ChatPart::Text(_) => None,
    }));
    Ok(out)
}

fn tools(req: &ChatRequest) -> Vec<ToolSet> {
    if req.tools.is_empty() {
        return Vec::new();
    }
    let function_declarations = req
        .tools
        .iter()
        .map(|tool| FunctionDeclaration {
            name: tool.name.clone(),
            description: tool.description.clone(),
            parameters_json_schema: (!tool.parameters.is_null()).then(|| tool.parameters.clone()),
        })
        .collect();
    vec![ToolSet {
        function_declarations,
    }]
}

fn tool_config(choice: &ToolChoice) -> ToolConfig {
    let (mode, allowed_function_names) = match choice {
        ToolChoice::Auto => ("AUTO", Vec::new()),
        ToolChoice::None => ("NONE", Vec::new()),
        ToolChoice::Required => ("ANY", Vec::new()),
        ToolChoice::Tool(name) => ("ANY", vec![name.clone()]),
    };
    ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode,
            allowed_function_names,
        },
    }
}

fn generation_config(req: &ChatRequest) -> GenerationConfig {
    let (response_mime_type, response_json_schema) = match &req.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json"), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json"), Some(schema.clone()))
        }
    };
    GenerationConfig {
        max_output_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        stop_sequences: req.stop.clone(),
        candidate_count: req.n,
        seed: req.seed,
        presence_penalty: req.presence_penalty,
        frequency_penalty: req.frequency_penalty,
        response_mime_type,
        response_json_schema,
    }
}
