# A LlmEndpoint client as the seed documents the API: the key in the
# Authorization header without "Bearer", {"success": true, "response": ...}
# for plain answers, newline-delimited {"role", "content"} chunks for
# streamed ones, {"success": false, "message": ...} for errors.
import json
import sys

import requests

BASE_URL, API_KEY = sys.argv[1], sys.argv[2]
headers = {"Authorization": API_KEY, "Content-Type": "application/json"}
payload = {
    "messages": [{"role": "user", "content": "What is the meaning of life?"}],
    "model": "llama3.1",
    "max_tokens": 100,
    "temperature": 0.7,
    "stream": False,
}

response = requests.post(f"{BASE_URL}/api/v1/completions", headers=headers, json=payload)
response.raise_for_status()
data = response.json()
assert data["success"] is True, data
print("response:", data["response"])

payload["stream"] = True
text = ""
with requests.post(f"{BASE_URL}/api/v1/completions", headers=headers, json=payload, stream=True) as response:
    response.raise_for_status()
    for line in response.iter_lines():
        if line:
            chunk = json.loads(line)
            assert chunk["role"] == "assistant", chunk
            text += chunk["content"]
print("streamed:", text)

response = requests.post(f"{BASE_URL}/api/v1/completions", json=payload)
print("error:", response.status_code, response.json()["success"], response.json()["message"])
