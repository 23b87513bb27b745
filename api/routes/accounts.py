"""Admins manage people's accounts and integrators' API keys (never with an API key: people decide who gets in)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete, select

from api.auth import create_api_key, create_user, hash_password
from api.deps import AccountAdmin, NowDep, SessionDep
from api.directory_schemas import field_error
from api.models import KEY_SCOPES, ApiKey, Role, Scope, User, UserSite
from carewatch.directory import Site

router = APIRouter(prefix="/api", tags=["accounts"])
NOT_FOUND = {404: {"description": "No such account or key"}}
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: Username
    display_name: str = Field(min_length=1, max_length=128, description="Shown in the audit trail")
    password: str = Field(min_length=12, max_length=1024, description="At least 12 characters")
    role: Role
    sites: list[str] = Field(default=[], max_length=1000, description="Ignored for admins, who see every site")


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    password: str | None = Field(default=None, min_length=12, max_length=1024)
    role: Role | None = None
    active: bool | None = None
    sites: list[str] | None = Field(default=None, max_length=1000)


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    sites: list[str]
    created_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)
    sites: list[str] | None = Field(default=None, max_length=1000, description="null: every site")


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    scopes: list[str]
    sites: list[str] | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    key: str = Field(description="Shown once: store it now; carewatch keeps only its hash")


async def _known_sites(session: SessionDep, sites: list[str]) -> None:
    found = set((await session.scalars(select(Site.id).where(Site.id.in_(sites)))).all()) if sites else set()
    for index, site in enumerate(sites):
        if site not in found:
            raise field_error(("sites", str(index)), f"no site {site!r}")


async def _public(session: SessionDep, user: User) -> UserPublic:
    sites = (await session.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id).order_by(UserSite.site_id))).all()
    return UserPublic(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                      active=user.active, sites=list(sites), created_at=user.created_at)


@router.get("/users", response_model=list[UserPublic])
async def list_users(principal: AccountAdmin, session: SessionDep) -> list[UserPublic]:
    return [await _public(session, u) for u in (await session.scalars(select(User).order_by(User.username))).all()]


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def add_user(body: UserCreate, principal: AccountAdmin, session: SessionDep, now: NowDep) -> UserPublic:
    if await session.scalar(select(User.id).where(User.username == body.username)) is not None:
        raise field_error(("username",), f"user name {body.username!r} is taken", status.HTTP_409_CONFLICT)
    await _known_sites(session, body.sites)
    user = await create_user(session, body.username, body.password, body.role, body.sites, body.display_name, now)
    await session.commit()
    return await _public(session, user)


@router.get("/users/{user_id}", response_model=UserPublic, responses=NOT_FOUND)
async def read_user(user_id: int, principal: AccountAdmin, session: SessionDep) -> UserPublic:
    user = await session.get(User, user_id)
    if user is None:
        raise field_error(("user_id",), f"no user {user_id}", status.HTTP_404_NOT_FOUND)
    return await _public(session, user)


@router.patch("/users/{user_id}", response_model=UserPublic, responses=NOT_FOUND)
async def update_user(user_id: int, body: UserUpdate, principal: AccountAdmin, session: SessionDep) -> UserPublic:
    user = await session.get(User, user_id)
    if user is None:
        raise field_error(("user_id",), f"no user {user_id}", status.HTTP_404_NOT_FOUND)
    if body.display_name is not None:
        user.display_name = body.display_name
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    if body.role is not None:
        user.role = body.role
    if body.active is not None:
        user.active = body.active
    if body.sites is not None:
        await _known_sites(session, body.sites)
        await session.execute(delete(UserSite).where(UserSite.user_id == user.id))
        session.add_all(UserSite(user_id=user.id, site_id=s) for s in sorted(set(body.sites)))
    await session.commit()
    return await _public(session, user)


@router.get("/api-keys", response_model=list[ApiKeyPublic])
async def list_keys(principal: AccountAdmin, session: SessionDep) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


@router.post("/api-keys", response_model=ApiKeyIssued, status_code=status.HTTP_201_CREATED)
async def issue_key(body: ApiKeyCreate, principal: AccountAdmin, session: SessionDep, now: NowDep) -> ApiKeyIssued:
    for index, scope in enumerate(body.scopes):
        if scope not in KEY_SCOPES:
            raise field_error(("scopes", str(index)), f"{scope.value!r} is for people's accounts only")
    if body.sites is not None:
        await _known_sites(session, body.sites)
    key, secret = await create_api_key(session, body.name, body.scopes, body.sites, principal.name, now)
    await session.commit()
    return ApiKeyIssued(**ApiKeyPublic.model_validate(key).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def revoke_key(key_id: int, principal: AccountAdmin, session: SessionDep, now: NowDep) -> Response:
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise field_error(("key_id",), f"no API key {key_id}", status.HTTP_404_NOT_FOUND)
    key.revoked_at = key.revoked_at or now
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
