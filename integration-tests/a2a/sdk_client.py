"""Drives GPU Proxy's A2A front with the official a2a-sdk, unmodified, as an A2A client would.

Run by the integration test `flows::a2a::the_official_sdk_*` (both modes) with:
    python sdk_client.py <gateway base URL> <API key of a user with credits> <API key of another user>
It prints one line per check and exits non-zero at the first one that fails.
"""

import asyncio
import sys
import uuid

import httpx
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.utils.errors import TaskNotCancelableError, TaskNotFoundError
from a2a.types import a2a_pb2 as pb
from google.protobuf import json_format


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def data_message(action, arguments):
    message = pb.Message(message_id=str(uuid.uuid4()), role=pb.ROLE_USER)
    part = message.parts.add()
    json_format.ParseDict({"action": action, "arguments": arguments}, part.data)
    return message


async def events_of(client, message):
    return [event async for event in client.send_message(pb.SendMessageRequest(message=message))]


async def main(base, key, other_key):
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(headers={"X-API-Key": key}, timeout=timeout) as http, httpx.AsyncClient(
        headers={"X-API-Key": other_key}, timeout=timeout
    ) as other_http:
        card = await A2ACardResolver(http, base).get_agent_card()
        client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        check(card.capabilities.streaming, "the card says the agent streams")
        skills = {skill.id for skill in card.skills}
        check({"list_gpu_instances", "reserve_gpus"} <= skills, f"the card's skills come from the catalog ({len(skills)})")
        check(
            any(i.protocol_version == "1.0" and i.url.endswith("/api/v1/a2a") for i in card.supported_interfaces),
            "the card names the 1.0 JSON-RPC interface with an absolute URL",
        )

        # SendMessage: a quick action answers a completed task with the result as an artifact.
        events = await events_of(client, data_message("list_gpu_instances", {"page_size": 3}))
        check(len(events) == 1 and events[0].HasField("task"), "SendMessage answers a task")
        listed = events[0].task
        check(listed.status.state == pb.TASK_STATE_COMPLETED, f"the listing task completed ({listed.status.state})")
        offers = json_format.MessageToDict(listed.artifacts[0].parts[0].data)
        check(len(offers["offers"]) == 3, "the artifact holds three offers")

        # SendStreamingMessage: a reservation streams WORKING updates and ends COMPLETED with its instances.
        streaming = await ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create_from_url(base)
        events = await events_of(streaming, data_message("reserve_gpus", {"count": 2, "max_price_per_hour": 5}))
        check(events[0].HasField("task"), "the stream starts with the task")
        task_id = events[0].task.id
        states = [e.status_update.status.state for e in events if e.HasField("status_update")]
        check(pb.TASK_STATE_WORKING in states, "the reservation reported WORKING while its instances started")
        check(states[-1] == pb.TASK_STATE_COMPLETED, f"the reservation ended COMPLETED ({states})")
        artifacts = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
        reserved = json_format.MessageToDict(artifacts[-1].parts[0].data)
        check(len(reserved["instances"]) == 2, "the artifact lists the two instances")
        check(all(i["status"] == "running" for i in reserved["instances"]), "both instances run")

        # GetTask and ListTasks.
        got = await client.get_task(pb.GetTaskRequest(id=task_id))
        check(got.status.state == pb.TASK_STATE_COMPLETED and got.id == task_id, "GetTask answers the ended task")
        listed_tasks = await client.list_tasks(pb.ListTasksRequest(page_size=10))
        check(task_id in {t.id for t in listed_tasks.tasks}, "ListTasks lists it")
        check(listed_tasks.total_size >= 2, f"ListTasks counts the user's tasks ({listed_tasks.total_size})")

        # CancelTask: a working reservation is canceled; an ended task is not cancelable.
        request = pb.SendMessageRequest(
            message=data_message("reserve_gpus", {"count": 1, "max_price_per_hour": 5}),
            configuration=pb.SendMessageConfiguration(return_immediately=True),
        )
        started = [event async for event in client.send_message(request)][0].task
        check(started.status.state == pb.TASK_STATE_WORKING, "returnImmediately answers the task WORKING")
        canceled = await client.cancel_task(pb.CancelTaskRequest(id=started.id))
        check(canceled.status.state == pb.TASK_STATE_CANCELED, "CancelTask cancels the working task")
        try:
            await client.cancel_task(pb.CancelTaskRequest(id=task_id))
            check(False, "canceling an ended task is refused")
        except TaskNotCancelableError as error:
            check(True, f"canceling an ended task is refused ({error})")

        # Another user's task is not found.
        stranger = await ClientFactory(ClientConfig(httpx_client=other_http, streaming=False)).create_from_url(base)
        try:
            await stranger.get_task(pb.GetTaskRequest(id=task_id))
            check(False, "another user's task is not found")
        except TaskNotFoundError as error:
            check(True, f"another user's task is not found ({error})")

        # The 0.3 dialect through the SDK's own compat transport.
        card.ClearField("supported_interfaces")
        card.supported_interfaces.add(url=base + "/api/v1/a2a", protocol_binding="JSONRPC", protocol_version="0.3")
        legacy = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        events = await events_of(legacy, data_message("get_credits", {}))
        check(events[0].task.status.state == pb.TASK_STATE_COMPLETED, "message/send (0.3) completes a task")
        got = await legacy.get_task(pb.GetTaskRequest(id=events[0].task.id))
        check(got.status.state == pb.TASK_STATE_COMPLETED, "tasks/get (0.3) reads it back")
    print("all checks passed", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]))
